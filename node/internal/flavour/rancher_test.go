package flavour

import (
	"testing"

	"github.com/gcrcred/gcrcred/internal/nodelayout"
)

// TestRancher: k3s and rke2 get files at their defaults, or where their
// config files (config.yaml, then config.yaml.d in name order) or unit
// say, and no flags; k3s runs the kubelet inside, rke2 as a child.
func TestRancher(t *testing.T) {
	s, err := detect(t, map[string]string{"etc/systemd/system/k3s.service": "[Service]\nExecStart=/usr/local/bin/k3s server\n"})
	want(t, s, err, nodelayout.FlavourK3s, nodelayout.RancherBinDir, nodelayout.RancherConfig, "")
	if s.Service.Name != "k3s" || !s.Service.Embedded || s.Service.ExeDataDir == "" || !s.SharedConfig || s.RunningFlags != nil {
		t.Errorf("k3s: %+v", s)
	}
	s, err = detect(t, map[string]string{
		"usr/local/lib/systemd/system/rke2-agent.service": "[Service]\nExecStart=/usr/local/bin/rke2 agent\n",
		"etc/rancher/rke2/config.yaml":                    "image-credential-provider-bin-dir: /opt/a/bin\nimage-credential-provider-config: /opt/a/config.yaml\n",
		"etc/rancher/rke2/config.yaml.d/50-b.yaml":        "image-credential-provider-config: /opt/b/config.yaml\n",
		"etc/rancher/rke2/config.yaml.d/10-relative.yaml": "image-credential-provider-bin-dir: relative\n",
	})
	want(t, s, err, nodelayout.FlavourRKE2, "/opt/a/bin", "/opt/b/config.yaml", "")
	if s.Service.Comm != "kubelet" || len(s.RunningFlags) != 2 {
		t.Errorf("rke2: %+v", s)
	}
}

package flavour

import (
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/internal/nodelayout"
)

// TestExisting: a unit that gives the kubelet another provider config
// decides, before the set-ups that add flags: gcrcred's provider goes into
// that config (or a file of its own in that directory of configs), the
// binary into that bin dir; a config without a bin dir is refused.
func TestExisting(t *testing.T) {
	files := kubeadmFiles(map[string]string{
		"etc/default/kubelet": "KUBELET_EXTRA_ARGS=--image-credential-provider-config=/etc/eks/config.json --image-credential-provider-bin-dir=/etc/eks/bin\n",
	})
	s, err := detect(t, files)
	want(t, s, err, nodelayout.FlavourProviderConfig, "/etc/eks/bin", "/etc/eks/config.json", "")
	if !s.SharedConfig || s.ConfigDir != "" || s.Wrappers {
		t.Errorf("provider-config: %+v", s)
	}
	files["etc/eks/config.json/10-ecr.yaml"] = "kind: CredentialProviderConfig\n"
	s, err = detect(t, files)
	want(t, s, err, nodelayout.FlavourProviderConfig, "/etc/eks/bin", "/etc/eks/config.json/gcrcred.yaml", "")
	if s.ConfigDir != "/etc/eks/config.json" {
		t.Errorf("a directory of configs: %+v", s)
	}
	files["etc/default/kubelet"] = "KUBELET_EXTRA_ARGS=--image-credential-provider-config=/etc/eks/config.json\n"
	if _, err := detect(t, files); err == nil || !strings.Contains(err.Error(), "no absolute --image-credential-provider-bin-dir") {
		t.Errorf("a config without a bin dir: %v", err)
	}
}

package flavour

import (
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/internal/nodelayout"
)

const kubeadmDropIn = `[Service]
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`

func kubeadmFiles(extra map[string]string) map[string]string {
	files := map[string]string{
		"lib/systemd/system/kubelet.service":                   kubeletService,
		"etc/systemd/system/kubelet.service.d/10-kubeadm.conf": kubeadmDropIn,
		"etc/default/kubelet":                                  "KUBELET_EXTRA_ARGS=\n",
	}
	for p, c := range extra {
		files[p] = c
	}
	return files
}

// TestKubeadm: the flags go into KUBELET_EXTRA_ARGS of the file the
// drop-in reads; with /kind, the same set-up is kind's, whose version
// /kind/version says; a drop-in that expands it from no file is refused.
func TestKubeadm(t *testing.T) {
	s, err := detect(t, kubeadmFiles(nil))
	want(t, s, err, nodelayout.FlavourKubeadm, nodelayout.BinDir, nodelayout.ProviderConfig, "/etc/default/kubelet KUBELET_EXTRA_ARGS")
	if !s.Wrappers || s.SharedConfig || s.BootDropIn || len(s.RunningFlags) != 2 {
		t.Errorf("kubeadm: %+v", s)
	}
	s, err = detect(t, kubeadmFiles(map[string]string{"kind/version": "v1.37.2\n"}))
	want(t, s, err, nodelayout.FlavourKind, nodelayout.BinDir, nodelayout.ProviderConfig, "/etc/default/kubelet KUBELET_EXTRA_ARGS")
	if s.Service.Version.Version != "v1.37.2" {
		t.Errorf("kind's version %+v", s.Service.Version)
	}
	_, err = detect(t, kubeadmFiles(map[string]string{
		"etc/systemd/system/kubelet.service.d/10-kubeadm.conf": strings.Replace(kubeadmDropIn, "EnvironmentFile=-/etc/default/kubelet\n", "", 1),
	}))
	if err == nil || !strings.Contains(err.Error(), "EnvironmentFile=-/etc/default/kubelet") {
		t.Errorf("KUBELET_EXTRA_ARGS from no file: %v", err)
	}
}

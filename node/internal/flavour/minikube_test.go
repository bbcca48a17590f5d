package flavour

import (
	"testing"

	"github.com/gcrcred/gcrcred/internal/nodelayout"
)

// TestMinikube: the flags go on the ExecStart of minikube's drop-in, with
// gcrcred's boot drop-in and Docker for root and the docker user; the
// version is the binaries directory's. Without /var/lib/minikube the same
// drop-in is no minikube node.
func TestMinikube(t *testing.T) {
	files := map[string]string{
		"lib/systemd/system/kubelet.service":                   kubeletService,
		"etc/systemd/system/kubelet.service.d/10-kubeadm.conf": "[Service]\nExecStart=\nExecStart=/var/lib/minikube/binaries/v1.37.2/kubelet --config=/var/lib/kubelet/config.yaml\n",
		"var/lib/minikube/.keep":                               "",
	}
	s, err := detect(t, files)
	want(t, s, err, nodelayout.FlavourMinikube, nodelayout.BinDir, nodelayout.ProviderConfig, nodelayout.MinikubeDropIn)
	if !s.BootDropIn || !s.FilesOutliveRecord || len(s.DockerUsers) != 2 || s.Service.Version.Version != "v1.37.2" {
		t.Errorf("minikube: %+v", s)
	}
	delete(files, "var/lib/minikube/.keep")
	if _, err := detect(t, files); err == nil {
		t.Error("a node without /var/lib/minikube was detected as minikube")
	}
}

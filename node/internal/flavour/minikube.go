package flavour

import (
	"strings"

	"github.com/gcrcred/gcrcred/internal/kubeletunit"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/node/internal/kubelet"
)

// minikube: its drop-in, rewritten at every start, holds the kubelet's
// flags on its ExecStart line, which reads no environment file: gcrcred's
// flags go there too (and minikube's saved extra-config keeps them, which
// the host-side installer writes). gcrcred's own boot drop-in restores what
// minikube's file sync cannot carry; Docker is pointed at gcrcred for root
// and the docker user.
func init() { register(40, minikube{}) }

type minikube struct{}

func (minikube) Wants() string {
	return "takes its flags on the ExecStart of minikube's " + nodelayout.MinikubeDropIn + " (minikube)"
}

func (minikube) FlagsFiles() []kubeletunit.FlagsFile {
	return []kubeletunit.FlagsFile{{Path: nodelayout.MinikubeDropIn}}
}

func (minikube) Detect(n *Node) (*Setup, error) {
	u, args, err := n.Kubelet()
	if u == nil || err != nil || u.ExecFile() != nodelayout.MinikubeDropIn || !n.R.Exists(nodelayout.MinikubeHome) {
		return nil, err
	}
	s := ownSetup(nodelayout.FlavourMinikube, u, args)
	s.Evidence = nodelayout.MinikubeDropIn + " holds the kubelet's flags on its ExecStart line, which reads no environment file"
	s.Flags = &kubeletunit.FlagsFile{Path: nodelayout.MinikubeDropIn}
	s.BootDropIn = true
	s.DockerUsers = nodelayout.MinikubeDockerUsers
	s.FilesOutliveRecord = true
	s.Service.Version = kubelet.Hint{From: nodelayout.MinikubeDropIn}
	// minikube runs /var/lib/minikube/binaries/VERSION/kubelet.
	if v, ok := strings.CutPrefix(firstWord(args), nodelayout.MinikubeHome+"/binaries/"); ok {
		s.Service.Version.Version = strings.TrimSuffix(v, "/kubelet")
	}
	return s, nil
}

package flavour

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gcrcred/gcrcred/internal/kubeletunit"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/node/internal/kubelet"
)

// kubeadm and kind: the kubeadm package's drop-in expands
// $KUBELET_EXTRA_ARGS, which it reads from /etc/default/kubelet (Debian)
// or /etc/sysconfig/kubelet (RPM): gcrcred's flags go into that
// assignment, everything else there kept. A kind node is kubeadm's with a
// /kind directory.
func init() { register(30, kubeadm{}) }

type kubeadm struct{}

// extraArgsVar is the variable kubeadm's drop-in leaves to the user.
const extraArgsVar = "KUBELET_EXTRA_ARGS"

// extraArgsFiles are where kubeadm's drop-in reads extraArgsVar from.
var extraArgsFiles = []string{"/etc/default/kubelet", "/etc/sysconfig/kubelet"}

func (kubeadm) Wants() string {
	return fmt.Sprintf("expands $%s from %s (kubeadm, kind)", extraArgsVar, strings.Join(extraArgsFiles, " or "))
}

func (kubeadm) FlagsFiles() []kubeletunit.FlagsFile {
	var out []kubeletunit.FlagsFile
	for _, f := range extraArgsFiles {
		out = append(out, kubeletunit.FlagsFile{Path: f, Var: extraArgsVar})
	}
	return out
}

func (kubeadm) Detect(n *Node) (*Setup, error) {
	u, args, err := n.Kubelet()
	if u == nil || err != nil || !u.UsesVar(extraArgsVar) {
		return nil, err
	}
	where := u.ExecFile()
	file := ""
	for _, f := range u.EnvFiles {
		if slices.Contains(extraArgsFiles, f.Path) && (file == "" || n.R.Exists(f.Path)) {
			file = f.Path
		}
	}
	if file == "" {
		return nil, fmt.Errorf("%s expands $%s, but the kubelet unit reads it from none of %s: add EnvironmentFile=-/etc/default/kubelet to a kubelet drop-in and rerun", where, extraArgsVar, strings.Join(extraArgsFiles, ", "))
	}
	s := ownSetup(nodelayout.FlavourKubeadm, u, args)
	s.Evidence = fmt.Sprintf("%s reads %s from %s", where, extraArgsVar, file)
	if n.R.Exists("/kind") {
		s.Flavour = nodelayout.FlavourKind
		s.Evidence = "/kind exists; " + s.Evidence
		s.Service.Version = kindVersion(n.R)
	}
	s.Flags = &kubeletunit.FlagsFile{Path: file, Var: extraArgsVar}
	return s, nil
}

// kindVersion is the Kubernetes version kind's node image records.
func kindVersion(r *noderoot.Root) kubelet.Hint {
	const file = "/kind/version"
	if c, err := r.ReadTrusted(file); err == nil && strings.TrimSpace(c) != "" {
		return kubelet.Hint{Version: strings.TrimSpace(c), From: file}
	}
	return kubelet.Hint{From: file}
}

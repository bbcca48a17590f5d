package minikube

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
)

// cluster is a running profile and its nodes, found by connect.
type cluster struct {
	mk      *Minikube
	nodes   []Node
	profile *profileConfig
}

// connect checks what every command needs: minikube on PATH, the profile
// saved, every node running; and lists the nodes.
func connect(ctx context.Context, o options) (*cluster, error) {
	bin, err := exec.LookPath(o.minikube)
	if err != nil {
		return nil, fmt.Errorf("%s is not on PATH: install minikube (https://minikube.sigs.k8s.io/docs/start/) or pass --minikube PATH", o.minikube)
	}
	pc, err := readProfileConfig(profileConfigPath(o.profile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("minikube profile %q not found (no %s): `minikube profile list` shows the profiles; pass -p NAME, or create it with `minikube start -p %s` (MINIKUBE_HOME=%q)",
			o.profile, profileConfigPath(o.profile), o.profile, os.Getenv("MINIKUBE_HOME"))
	}
	if err != nil {
		return nil, err
	}
	mk := &Minikube{Bin: bin, Profile: o.profile}
	sts, err := mk.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("asking minikube about profile %q: %w", o.profile, err)
	}
	var down []string
	for _, s := range sts {
		if s.Host != "Running" {
			down = append(down, fmt.Sprintf("%s is %s", s.Name, strings.ToLower(s.Host)))
		}
	}
	if len(down) > 0 {
		return nil, fmt.Errorf("minikube profile %q is not running (%s): run `minikube start -p %s` first", o.profile, strings.Join(down, ", "), o.profile)
	}
	names, err := mk.NodeNames(ctx)
	if err != nil {
		return nil, err
	}
	c := &cluster{mk: mk, profile: pc}
	for _, n := range names {
		c.nodes = append(c.nodes, mk.Node(n))
	}
	return c, nil
}

// nodePlan is what install learned about one node before changing anything.
type nodePlan struct {
	node   Node
	arch   string
	files  []nodeFile
	dropIn string
}

// planNodes reads each node's architecture and kubelet drop-in, picks its
// binary, and refuses what install could not finish: an architecture with
// no binary, a node that is not a kubeadm node, a kubelet already pointed
// at another credential provider.
func planNodes(ctx context.Context, c *cluster, o options, creds *nodeCredentials, config []byte) ([]nodePlan, error) {
	binaries := map[string]string{}
	var plans []nodePlan
	for _, n := range c.nodes {
		out, err := n.Run(ctx, "uname -m")
		if err != nil {
			return nil, fmt.Errorf("node %s: reading its architecture: %w", n.Name(), err)
		}
		arch, err := goArch(strings.TrimSpace(out))
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", n.Name(), err)
		}
		if _, ok := binaries[arch]; !ok {
			if binaries[arch], err = findBinary(o.dist, arch); err != nil {
				return nil, fmt.Errorf("node %s: %w", n.Name(), err)
			}
		}
		kl, err := readKubelet(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("node %s: reading the kubelet's drop-in: %w", n.Name(), err)
		}
		if !kl.hasFile {
			return nil, fmt.Errorf("node %s has no %s: gcrcred needs a kubeadm node as minikube makes them (was it started with --no-kubernetes?)", n.Name(), KubeletDropIn)
		}
		if bad := dropInConflicts(kl.dropIn); len(bad) > 0 {
			return nil, fmt.Errorf("node %s: the kubelet already runs with %s: gcrcred will not replace another credential provider; remove it (`minikube start --extra-config` replaces the saved list) and rerun", n.Name(), strings.Join(bad, " "))
		}
		if _, ok := effectiveExecStart(kl.dropIn); !ok {
			return nil, fmt.Errorf("node %s: %s has no ExecStart= line to add the kubelet flags to", n.Name(), KubeletDropIn)
		}
		plans = append(plans, nodePlan{node: n, arch: arch, dropIn: kl.dropIn,
			files: plannedFiles(binaries[arch], creds.path, config)})
	}
	if bad := c.profile.conflicts(); len(bad) > 0 {
		return nil, fmt.Errorf("profile %q already saves %s: gcrcred will not replace another credential provider", c.mk.Profile, strings.Join(bad, ", "))
	}
	var archs []string
	for a := range binaries {
		archs = append(archs, a)
	}
	if len(archs) > 1 {
		// File sync holds one binary for every node: a mixed cluster would
		// get the wrong one on some nodes at the next start.
		return nil, fmt.Errorf("profile %q mixes node architectures (%s), but minikube's file sync gives every node the same files", c.mk.Profile, strings.Join(archs, ", "))
	}
	return plans, nil
}

package minikube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"sort"
	"strings"

	"github.com/gcrcred/gcrcred/internal/nodeexec"
	"github.com/gcrcred/gcrcred/minikube/minikubecli"
	"github.com/gcrcred/gcrcred/node"
)

// cluster is what preflight found: the profile, its nodes, the binaries
// and credentials they get, and everything missing, each with its fix.
type cluster struct {
	o        options
	mk       *minikubecli.CLI
	profile  *minikubecli.ProfileConfig
	nodes    []*nodeInfo // nil when minikube or the profile could not be asked
	creds    *nodeCredentials
	bins     map[string]*nodeBinary // by architecture
	problems []string
}

type nodeInfo struct {
	n    *minikubecli.Node
	arch string
}

func (c *cluster) problem(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// kubeletOptions are node's flags as extra-config options.
func kubeletOptions() []minikubecli.Option {
	var opts []minikubecli.Option
	for _, f := range node.KubeletFlags() {
		opts = append(opts, minikubecli.Option{Key: f.Key, Value: f.Value})
	}
	return opts
}

// preflight checks everything a command needs, all of it (a missing thing
// does not hide the next one): for install also the credentials, each
// node's architecture and kubelet drop-in, and a binary for each
// architecture.
func preflight(ctx context.Context, o options, forInstall bool) *cluster {
	c := &cluster{o: o, bins: map[string]*nodeBinary{}}
	if forInstall {
		creds, err := findCredentials(o.credentials)
		if err != nil {
			c.problem("%v", err)
		}
		c.creds = creds
	}

	bin, err := exec.LookPath(o.minikube)
	if err != nil {
		c.problem("%s is not on PATH: install minikube (https://minikube.sigs.k8s.io/docs/start/) or pass --minikube PATH", o.minikube)
	}
	pc, err := minikubecli.ReadProfileConfig(minikubecli.ProfileConfigPath(o.profile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.problem("minikube profile %q not found (no %s): `minikube profile list` shows the profiles; pass -p NAME, or create it with `minikube start -p %s` (MINIKUBE_HOME=%q)",
			o.profile, minikubecli.ProfileConfigPath(o.profile), o.profile, os.Getenv("MINIKUBE_HOME"))
	case err != nil:
		c.problem("%v", err)
	default:
		c.profile = pc
		if bad := pc.Conflicts(kubeletOptions()); forInstall && len(bad) > 0 {
			c.problem("profile %q already saves %s: gcrcred will not replace another credential provider; remove it (`minikube start --extra-config` replaces the saved list) and rerun", o.profile, strings.Join(bad, ", "))
		}
	}
	if bin == "" || c.profile == nil {
		return c
	}
	c.mk = &minikubecli.CLI{Bin: bin, Profile: o.profile}
	if !c.running(ctx) {
		return c
	}
	names, err := c.mk.NodeNames(ctx)
	if err != nil {
		c.problem("%v", err)
		return c
	}
	for _, name := range names {
		n := c.mk.Node(name)
		out, err := nodeexec.Output(ctx, n, "uname", "-m")
		if err != nil {
			c.problem("node %s: reading its architecture: %v", name, err)
			continue
		}
		arch, err := goArch(out)
		if err != nil {
			c.problem("node %s: %v", name, err)
			continue
		}
		c.nodes = append(c.nodes, &nodeInfo{n: n, arch: arch})
		if forInstall {
			c.checkDropIn(ctx, n)
		}
	}
	if forInstall {
		c.findBinaries()
	}
	return c
}

// running checks that every node of the profile runs.
func (c *cluster) running(ctx context.Context) bool {
	sts, err := c.mk.Status(ctx)
	if err != nil {
		c.problem("asking minikube about profile %q: %v", c.o.profile, err)
		return false
	}
	var down []string
	for _, s := range sts {
		if s.Host != "Running" {
			down = append(down, fmt.Sprintf("%s is %s", s.Name, strings.ToLower(s.Host)))
		}
	}
	if len(down) > 0 {
		c.problem("minikube profile %q is not running (%s): run `minikube start -p %s` first", c.o.profile, strings.Join(down, ", "), c.o.profile)
		return false
	}
	return true
}

// checkDropIn refuses, before any node changes, a node whose kubelet
// drop-in install could not add the flags to.
func (c *cluster) checkDropIn(ctx context.Context, n *minikubecli.Node) {
	dropIn, err := nodeexec.Output(ctx, n, "cat", node.MinikubeDropIn)
	if err != nil {
		c.problem("node %s has no %s: gcrcred needs a kubeadm node as minikube makes them (was it started with --no-kubernetes?)", n.Name(), node.MinikubeDropIn)
		return
	}
	if err := node.CheckMinikubeDropIn(dropIn); err != nil {
		c.problem("node %s: %s: %v; remove it and rerun", n.Name(), node.MinikubeDropIn, err)
	}
}

// archs are the nodes' architectures, sorted.
func (c *cluster) archs() []string {
	seen := map[string]bool{}
	var archs []string
	for _, ni := range c.nodes {
		if !seen[ni.arch] {
			seen[ni.arch] = true
			archs = append(archs, ni.arch)
		}
	}
	sort.Strings(archs)
	return archs
}

// findBinaries picks a binary for each architecture. File sync holds one
// binary for every node, so a profile of mixed architectures is refused.
func (c *cluster) findBinaries() {
	archs := c.archs()
	if len(archs) > 1 {
		c.problem("profile %q mixes node architectures (%s), but minikube's file sync gives every node the same files: use one architecture", c.o.profile, strings.Join(archs, ", "))
	}
	for _, arch := range archs {
		b, err := findBinary(c.o.dist, arch)
		if err != nil {
			c.problem("%v", err)
			continue
		}
		c.bins[arch] = b
	}
}

// describeNodes is "p amd64, p-m02 amd64".
func (c *cluster) describeNodes() string {
	var s []string
	for _, ni := range c.nodes {
		s = append(s, ni.n.Name()+" "+ni.arch)
	}
	return strings.Join(s, ", ")
}

// reportMissing prints the problems, each with its fix, and returns the
// one-line error the command ends with.
func (c *cluster) reportMissing(out io.Writer) error {
	fmt.Fprintf(out, "* Missing (%d), each with its fix:\n", len(c.problems))
	for _, p := range c.problems {
		fmt.Fprintf(out, "  - %s\n", p)
	}
	return fmt.Errorf("%d thing(s) missing (listed above): fix them and rerun", len(c.problems))
}

// nodeArchs is the hidden `minikube node-archs`: the Linux architectures
// the profile's nodes need, one a line, for install.sh to build only those
// (nothing when minikube cannot tell).
func nodeArchs(ctx context.Context, o options, out io.Writer) {
	c := preflight(ctx, o, false)
	for _, a := range c.archs() {
		fmt.Fprintln(out, a)
	}
}

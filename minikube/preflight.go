package minikube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strings"

	"github.com/gcrcred/gcrcred/internal/hostinstall"
	"github.com/gcrcred/gcrcred/internal/nodeexec"
	"github.com/gcrcred/gcrcred/minikube/minikubecli"
	"github.com/gcrcred/gcrcred/node"
)

// cluster is what preflight found: the profile, its nodes, the binaries
// and credentials they get, and everything missing, each with its fix.
type cluster struct {
	hostinstall.Cluster
	o       options
	mk      *minikubecli.CLI
	profile *minikubecli.ProfileConfig
}

// kubeletOptions are node's flags as extra-config options.
func kubeletOptions() []minikubecli.Option {
	var opts []minikubecli.Option
	for _, f := range node.KubeletFlags() {
		opts = append(opts, minikubecli.Option{Key: f.Key, Value: f.Value})
	}
	return opts
}

// hostOptions are what every node gets.
func (c *cluster) hostOptions() node.HostOptions {
	ho := node.HostOptions{
		Flavour: node.FlavourMinikube, Credentials: c.CredentialsPath(), Registries: c.o.Registries,
		Pod: c.o.pod, DockerUsers: node.MinikubeDockerUsers, Settle: c.o.Settle, DryRun: c.o.DryRun,
	}
	if archs := c.Archs(); len(archs) > 0 && c.Bins[archs[0]] != nil {
		ho.Binary = c.Bins[archs[0]].Path
	}
	return ho
}

// preflight checks everything a command needs, all of it (a missing thing
// does not hide the next one): for install also the credentials, the
// workload identity configuration, each node's kubelet drop-in, and a
// binary for each architecture.
func preflight(ctx context.Context, o options, forInstall bool) *cluster {
	c := &cluster{o: o, Cluster: hostinstall.Cluster{Name: fmt.Sprintf("minikube profile %q", o.profile)}}
	if forInstall {
		c.FindFiles(o.Host, o.pod, "minikube")
		if others := minikubecli.OtherProfiles(o.profile); len(others) > 0 {
			c.Notes = append(c.Notes, fmt.Sprintf("minikube's file sync is shared: profile(s) %s get gcrcred's files (not its kubelet flags) at their next start", strings.Join(others, ", ")))
		}
	}

	bin, err := exec.LookPath(o.minikube)
	if err != nil {
		c.Problems.Add("%s is not on PATH: install minikube (https://minikube.sigs.k8s.io/docs/start/) or pass --minikube PATH", o.minikube)
	}
	pc, err := minikubecli.ReadProfileConfig(minikubecli.ProfileConfigPath(o.profile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.Problems.Add("minikube profile %q not found (no %s): `minikube profile list` shows the profiles; pass -p NAME, or create it with `minikube start -p %s` (MINIKUBE_HOME=%q)",
			o.profile, minikubecli.ProfileConfigPath(o.profile), o.profile, os.Getenv("MINIKUBE_HOME"))
	case err != nil:
		c.Problems.Add("%v", err)
	default:
		c.profile = pc
		if bad := pc.Conflicts(kubeletOptions()); forInstall && len(bad) > 0 {
			c.Problems.Add("profile %q already saves %s: gcrcred will not replace another credential provider; remove it (`minikube start --extra-config` replaces the saved list) and rerun", o.profile, strings.Join(bad, ", "))
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
		c.Problems.Add("%v", err)
		return c
	}
	c.AddNodes(ctx, names, func(name string) hostinstall.Node { return c.mk.Node(name) })
	if forInstall {
		for _, n := range c.Nodes {
			c.checkDropIn(ctx, n)
		}
		if archs := c.Archs(); len(archs) > 1 {
			c.Problems.Add("profile %q mixes node architectures (%s), but minikube's file sync gives every node the same files: use one architecture", o.profile, strings.Join(archs, ", "))
		}
		c.FindBinaries(o.Dist)
	}
	return c
}

// running checks that every node of the profile runs.
func (c *cluster) running(ctx context.Context) bool {
	sts, err := c.mk.Status(ctx)
	if err != nil {
		c.Problems.Add("asking minikube about profile %q: %v", c.o.profile, err)
		return false
	}
	var down []string
	for _, s := range sts {
		if s.Host != "Running" {
			down = append(down, fmt.Sprintf("%s is %s", s.Name, strings.ToLower(s.Host)))
		}
	}
	if len(down) > 0 {
		c.Problems.Add("minikube profile %q is not running (%s): run `minikube start -p %s` first", c.o.profile, strings.Join(down, ", "), c.o.profile)
		return false
	}
	return true
}

// checkDropIn refuses, before any node changes, a node whose kubelet
// drop-in install could not add the flags to.
func (c *cluster) checkDropIn(ctx context.Context, n hostinstall.Node) {
	dropIn, err := nodeexec.Output(ctx, n, "cat", node.MinikubeDropIn)
	if err != nil {
		c.Problems.Add("node %s has no %s: gcrcred needs a kubeadm node as minikube makes them (was it started with --no-kubernetes?)", n.Name(), node.MinikubeDropIn)
		return
	}
	if err := node.CheckMinikubeDropIn(dropIn); err != nil {
		c.Problems.Add("node %s: %s: %v; remove it and rerun", n.Name(), node.MinikubeDropIn, err)
	}
}

// rbac is the API server's side of per-pod identity: minikube names the
// profile's kubectl context after the profile.
func (c *cluster) rbac() hostinstall.RBAC {
	return hostinstall.NewRBAC(c.o.profile, c.o.pod.Audience)
}

// nodeArchs is the hidden `minikube node-archs`: the Linux architectures
// the profile's nodes need, one a line, for install.sh to build only those
// (nothing when minikube cannot tell).
func nodeArchs(ctx context.Context, o options, out io.Writer) error {
	c := preflight(ctx, o, false)
	for _, a := range c.Archs() {
		fmt.Fprintln(out, a)
	}
	return nil
}

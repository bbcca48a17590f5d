package minikubecli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"strings"

	"github.com/gcrcred/gcrcred/internal/hostinstall"
	"github.com/gcrcred/gcrcred/internal/kubeletunit"
	"github.com/gcrcred/gcrcred/internal/nodeexec"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
)

// Tool is a minikube profile as the host-side engine reaches it: nodes
// listed and reached with the minikube CLI, and what the host keeps for
// them (keep.go: file sync, the profile's saved extra-config), so that
// `minikube stop && minikube start` and `minikube node add` keep gcrcred.
type Tool struct {
	Profile string
	// Home is minikube's directory on this host; HomeVar is MINIKUBE_HOME
	// as set, for messages (both from settings.Settings).
	Home    Home
	HomeVar string
	// Command is the minikube command to look up on PATH.
	MinikubeCommand string

	mk     *CLI
	config *ProfileConfig    // the profile's saved config, as preflight read it
	synced map[string][]byte // file sync's files, as status read them
}

// Name is the tool's name in messages.
func (t *Tool) Name() string { return "minikube" }

// Cluster names the profile in messages.
func (t *Tool) Cluster() string { return fmt.Sprintf("minikube profile %q", t.Profile) }

// Command is `gcrcred minikube VERB -p PROFILE`.
func (t *Tool) Command(verb string) string { return "gcrcred minikube " + verb + " -p " + t.Profile }

// KubectlContext: minikube names the profile's context after the profile.
func (t *Tool) KubectlContext() string { return t.Profile }

// Nodes: minikube's nodes take the flags on their kubelet drop-in's
// ExecStart line, and Docker there is root's and the docker user's.
func (t *Tool) Nodes() hostinstall.NodeKind {
	return hostinstall.NodeKind{Flavour: nodelayout.FlavourMinikube, DockerUsers: nodelayout.MinikubeDockerUsers,
		FlagsWhere: "on the ExecStart line of " + nodelayout.MinikubeDropIn}
}

// Check finds minikube on PATH, the profile's saved config (for install,
// one that saves no other provider's flags), and every node running.
func (t *Tool) Check(ctx context.Context, c *hostinstall.Cluster, forInstall bool) bool {
	if others := t.Home.OtherProfiles(t.Profile); forInstall && len(others) > 0 {
		c.Notes = append(c.Notes, fmt.Sprintf("minikube's file sync is shared: profile(s) %s get gcrcred's files (not its kubelet flags) at their next start", strings.Join(others, ", ")))
	}
	bin, err := exec.LookPath(t.MinikubeCommand)
	if err != nil {
		c.Problems.Add("%s is not on PATH: install minikube (https://minikube.sigs.k8s.io/docs/start/) or pass --minikube PATH", t.MinikubeCommand)
	}
	pc, err := ReadProfileConfig(t.Home.ProfileConfigPath(t.Profile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.Problems.Add("minikube profile %q not found (no %s): `minikube profile list` shows the profiles; pass -p NAME, or create it with `minikube start -p %s` (MINIKUBE_HOME=%q)",
			t.Profile, t.Home.ProfileConfigPath(t.Profile), t.Profile, t.HomeVar)
	case err != nil:
		c.Problems.Add("%v", err)
	default:
		t.config = pc
		if bad := pc.Conflicts(kubeletOptions()); forInstall && len(bad) > 0 {
			c.Problems.Add("profile %q already saves %s: gcrcred will not replace another credential provider; remove it (`minikube start --extra-config` replaces the saved list) and rerun", t.Profile, strings.Join(bad, ", "))
		}
	}
	if bin == "" || t.config == nil {
		return false
	}
	t.mk = &CLI{Bin: bin, Profile: t.Profile}
	return t.running(ctx, c)
}

// running checks that every node of the profile runs.
func (t *Tool) running(ctx context.Context, c *hostinstall.Cluster) bool {
	sts, err := t.mk.Status(ctx)
	if err != nil {
		c.Problems.Add("asking minikube about profile %q: %v", t.Profile, err)
		return false
	}
	var down []string
	for _, s := range sts {
		if s.Host != "Running" {
			down = append(down, fmt.Sprintf("%s is %s", s.Name, strings.ToLower(s.Host)))
		}
	}
	if len(down) > 0 {
		c.Problems.Add("minikube profile %q is not running (%s): run `minikube start -p %s` first", t.Profile, strings.Join(down, ", "), t.Profile)
		return false
	}
	return true
}

// NodeNames lists the profile's nodes.
func (t *Tool) NodeNames(ctx context.Context) ([]string, error) { return t.mk.NodeNames(ctx) }

// Node reaches one node of the profile.
func (t *Tool) Node(name string) hostinstall.Node { return t.mk.Node(name) }

// CheckNodes refuses, before any node changes, a node whose kubelet
// drop-in install could not add the flags to, and nodes of several
// architectures (file sync gives every node the same files).
func (t *Tool) CheckNodes(ctx context.Context, c *hostinstall.Cluster) {
	for _, n := range c.Nodes {
		dropIn, err := nodeexec.Output(ctx, n, "cat", nodelayout.MinikubeDropIn)
		if err != nil {
			c.Problems.Add("node %s has no %s: gcrcred needs a kubeadm node as minikube makes them (was it started with --no-kubernetes?)", n.Name(), nodelayout.MinikubeDropIn)
			continue
		}
		if _, _, err := kubeletunit.AddExecStartFlags(dropIn, nodelayout.KubeletFlags()); err != nil {
			c.Problems.Add("node %s: %s: %v; remove it and rerun", n.Name(), nodelayout.MinikubeDropIn, err)
		}
	}
	if archs := c.Archs(); len(archs) > 1 {
		c.Problems.Add("profile %q mixes node architectures (%s), but minikube's file sync gives every node the same files: use one architecture", t.Profile, strings.Join(archs, ", "))
	}
}

// Installed says how to check the install, and where its files are kept.
func (t *Tool) Installed(out io.Writer) {
	fmt.Fprintf(out, "  Check with `%s`. The files are in minikube's file sync (%s), which every profile under this MINIKUBE_HOME receives.\n", t.Command("status"), t.Home.FileSyncDir())
}

// kubeletOptions are the node's kubelet flags as extra-config options.
func kubeletOptions() []Option {
	var opts []Option
	for _, f := range nodelayout.KubeletFlags() {
		opts = append(opts, Option{Key: f.Key, Value: f.Value})
	}
	return opts
}

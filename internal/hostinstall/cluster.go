package hostinstall

import (
	"context"
	"fmt"
	"github.com/gcrcred/gcrcred/internal/settings"
	"io"
	"sort"
	"strings"
)

// Cluster is what an installer's preflight found: the nodes and their
// architectures, the binaries and credentials they get, and everything
// missing, each with its fix.
type Cluster struct {
	Name  string // for messages: `minikube profile "dev"`, `kind cluster "kind"`
	Nodes []*ClusterNode
	Asked bool         // the cluster's tool listed the nodes
	Creds *Credentials // nil: none to copy
	// NoCredentials says why there are none to copy, when that is right.
	NoCredentials string
	Bins          map[string]*Binary
	Notes         []string // said before the steps
	Problems      Problems

	tool ClusterTool
	o    Options
}

// ClusterNode is one node and its Go architecture.
type ClusterNode struct {
	Node
	Arch string
}

// AddNodes reaches each named node (with node) and reads its
// architecture; a node that cannot say is a problem.
func (c *Cluster) AddNodes(ctx context.Context, names []string, node func(name string) Node) {
	c.Asked = true
	for _, name := range names {
		n := node(name)
		arch, err := NodeArch(ctx, n)
		if err != nil {
			c.Problems.Add("node %s: %v", n.Name(), err)
			continue
		}
		c.Nodes = append(c.Nodes, &ClusterNode{Node: n, Arch: arch})
	}
}

// FindCredentials finds the host's credentials to copy: --credentials
// (host.CredentialsFlag), or the credential order. With per-pod identity
// only --credentials: no key on the nodes is the point.
func (c *Cluster) FindCredentials(host settings.Settings, podIdentity bool, cluster string) {
	if podIdentity && host.CredentialsFlag == "" {
		c.NoCredentials = "per-pod identity only: pods without a service-account token get no credentials from gcrcred, nor does docker-credential-gcrcred on a node; add --credentials KEY.json for them"
		return
	}
	creds, err := FindCredentials(host, cluster)
	if err != nil {
		c.Problems.Add("%v", err)
	}
	c.Creds = creds
}

// PodIdentity is per-pod identity as preflight checks it: its
// configuration file, read and checked when it is on.
type PodIdentity interface {
	On() bool
	Read() ([]byte, error)
	Describe() string
}

// FindFiles finds the host files install copies: the credentials
// (FindCredentials), and with per-pod identity its configuration, checked,
// and a note of what it does.
func (c *Cluster) FindFiles(host settings.Settings, pod PodIdentity, cluster string) {
	c.FindCredentials(host, pod.On(), cluster)
	if !pod.On() {
		return
	}
	if _, err := pod.Read(); err != nil {
		c.Problems.Add("%v", err)
	}
	c.Notes = append(c.Notes, pod.Describe())
}

// CredentialsPath is the host file to copy, "" for none.
func (c *Cluster) CredentialsPath() string {
	if c.Creds == nil {
		return ""
	}
	return c.Creds.Path
}

// Archs are the nodes' architectures, sorted.
func (c *Cluster) Archs() []string {
	seen := map[string]bool{}
	var archs []string
	for _, n := range c.Nodes {
		if !seen[n.Arch] {
			seen[n.Arch] = true
			archs = append(archs, n.Arch)
		}
	}
	sort.Strings(archs)
	return archs
}

// FindBinaries picks a binary for each architecture.
func (c *Cluster) FindBinaries(dist string) {
	if c.Bins == nil {
		c.Bins = map[string]*Binary{}
	}
	for _, arch := range c.Archs() {
		b, err := FindBinary(dist, arch)
		if err != nil {
			c.Problems.Add("%v", err)
			continue
		}
		c.Bins[arch] = b
	}
}

// DescribeNodes is "n1 amd64, n2 amd64".
func (c *Cluster) DescribeNodes() string {
	var s []string
	for _, n := range c.Nodes {
		s = append(s, n.Name()+" "+n.Arch)
	}
	if len(s) == 0 {
		return "no nodes"
	}
	return strings.Join(s, ", ")
}

// PrintSources prints the binaries and the credentials the nodes get,
// then the notes, before the steps.
func (c *Cluster) PrintSources(out io.Writer) {
	for _, arch := range c.Archs() {
		if b := c.Bins[arch]; b != nil {
			fmt.Fprintf(out, "  %s\n", b)
		}
	}
	notes := c.Notes
	switch {
	case c.Creds != nil:
		fmt.Fprintf(out, "  credentials: %s\n", c.Creds)
		notes = append(append([]string{}, c.Creds.Notes...), notes...)
	case c.NoCredentials != "":
		fmt.Fprintf(out, "  credentials: none (%s)\n", c.NoCredentials)
	}
	for _, n := range notes {
		fmt.Fprintf(out, "  note: %s\n", n)
	}
}

// PrintHeader prints what an install is about to do (or, with dryRun, a
// plan): the cluster, its nodes (or why they are unknown: unknown), and
// PrintSources.
func (c *Cluster) PrintHeader(out io.Writer, dryRun bool, unknown string) {
	nodes := c.DescribeNodes()
	if !c.Asked {
		nodes = "nodes unknown: " + unknown
	}
	if dryRun {
		fmt.Fprintf(out, "* Plan for %s (%s); --dry-run: nothing is changed\n", c.Name, nodes)
	} else {
		fmt.Fprintf(out, "* Installing gcrcred on %s (%s)\n", c.Name, nodes)
	}
	c.PrintSources(out)
}

// PrintNodeFiles prints, for each architecture (ARCH when none is known),
// the files its nodes get: lines(binary, later) with that architecture's
// binary ("" when there is none), or, while the nodes are unknown, later
// says which binary each node will get; where says where else they go.
func (c *Cluster) PrintNodeFiles(out io.Writer, where string, lines func(binary, later string) ([]string, error)) {
	archs := c.Archs()
	unknown := len(archs) == 0
	if unknown {
		archs = []string{"ARCH"}
	}
	for _, arch := range archs {
		binary := ""
		if b := c.Bins[arch]; b != nil {
			binary = b.Path
		}
		later := ""
		if unknown {
			later = "gcrcred-linux-ARCH for each node's `uname -m`, from --dist, GCRCRED_DIST or next to this gcrcred, once the nodes can be asked"
		}
		ls, err := lines(binary, later)
		if err != nil {
			c.Problems.Add("%v", err)
			continue
		}
		fmt.Fprintf(out, "  every linux/%s node gets%s:\n", arch, where)
		for _, l := range ls {
			fmt.Fprintf(out, "    %s\n", l)
		}
	}
}

// InstallSteps run `gcrcred node install` on every node: with the node's
// binary and files (what the node has already, used where it is, the rest
// staged), args(binary, at) its arguments; installed is where nodes keep
// gcrcred.
func (c *Cluster) InstallSteps(installed string, files []StagedFile, args func(binary string, at map[string]string) []string) []Step {
	var steps []Step
	for _, n := range c.Nodes {
		steps = append(steps, Step{Node: n.Name(), What: "gcrcred node install",
			Do: func(ctx context.Context, detail io.Writer) (bool, error) {
				return installNode(ctx, n, c.Bins[n.Arch], installed, files, args, detail)
			}})
	}
	return steps
}

// UninstallSteps run `gcrcred node ARGS` (an uninstall) on every node,
// with the node's own gcrcred or, where it is gone, one from dist.
func (c *Cluster) UninstallSteps(installed, dist string, args []string, dryRun bool) []Step {
	var steps []Step
	for _, n := range c.Nodes {
		find := func() (*Binary, error) { return FindBinary(dist, n.Arch) }
		steps = append(steps, Step{Node: n.Name(), What: "gcrcred node uninstall",
			Do: func(ctx context.Context, detail io.Writer) (bool, error) {
				return uninstallNode(ctx, n, installed, find, args, dryRun, detail)
			}})
	}
	return steps
}

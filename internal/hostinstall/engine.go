package hostinstall

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/gcrcred/gcrcred/internal/kubeletunit"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
)

// The host-side engine: install, uninstall and status of every node of a
// cluster through its ClusterTool, written once. Each verb checks
// everything it needs first and names all that is missing; install's
// steps are idempotent, so a rerun after a failure continues.

// preflight checks everything a verb needs, all of it (a missing thing does
// not hide the next one): for install also the credentials, the workload
// identity configuration and a binary for each node's architecture.
func preflight(ctx context.Context, t ClusterTool, o Options, forInstall bool) *Cluster {
	c := &Cluster{Name: t.Cluster(), tool: t, o: o}
	if forInstall {
		c.FindFiles(o.Host, o.Pod, t.Name())
	}
	if !t.Check(ctx, c, forInstall) {
		return c
	}
	names, err := t.NodeNames(ctx)
	if err != nil {
		c.Problems.Add("%v", err)
		return c
	}
	c.AddNodes(ctx, names, t.Node)
	if forInstall {
		if k, ok := t.(Keeper); ok {
			k.CheckNodes(ctx, c)
		}
		c.FindBinaries(o.Dist)
	}
	return c
}

// Install puts gcrcred on every node. With per-pod identity the API
// server's permission for the kubelets' token requests comes first; then
// what the host keeps (files first), `node install` on each node in turn
// (its files, its flags, a kubelet restart, rolled back on that node if the
// kubelet does not stay up), and the flags the host keeps.
func Install(ctx context.Context, t ClusterTool, o Options, out io.Writer) error {
	c := preflight(ctx, t, o, true)
	if done, err := c.Begin(out, o.DryRun, func() { c.printPlan(out) }); done {
		return err
	}
	var before, after []Step
	if k, ok := t.(Keeper); ok {
		files, err := c.hostOptions(c.firstBinary()).Files()
		if err != nil {
			return err
		}
		before, after = k.Keep(files)
	}
	c.PrintHeader(out, false, "")
	rbac := c.rbac()
	ho := c.hostOptions("")
	steps := append(rbac.GrantSteps(), before...)
	steps = append(steps, c.InstallSteps(nodelayout.Binary, ho.Staged(), ho.InstallArgs)...)
	steps = append(steps, after...)
	if err := RunSteps(ctx, out, steps); err != nil {
		return fmt.Errorf("%w; every kubelet still starts: fix the cause and rerun `%s`, it continues where it stopped", err, t.Command("install"))
	}
	fmt.Fprintf(out, "* gcrcred is installed on %d node(s): pods pull from gcr.io and Artifact Registry with no pull secrets.\n", len(c.Nodes))
	t.Installed(out)
	rbac.NextStep(out)
	return nil
}

// printPlan says what install would change: every file each node gets,
// the flags, what the host keeps, the API server's permission; what
// cannot be known yet says why.
func (c *Cluster) printPlan(out io.Writer) {
	t := c.tool
	c.PrintHeader(out, true, t.Name()+" could not be asked")
	k, keeps := t.(Keeper)
	where := ""
	if keeps {
		where = k.KeptIn()
	}
	c.PrintNodeFiles(out, where, func(binary, later string) ([]string, error) {
		ho := c.hostOptions(binary)
		ho.BinaryLater = later
		return ho.PlanLines()
	})
	nodes := t.Nodes()
	fmt.Fprintf(out, "  every node's kubelet gets %s %s, and a restart\n", kubeletunit.FlagList(nodelayout.KubeletFlags()), nodes.FlagsWhere)
	if len(nodes.DockerUsers) > 0 {
		fmt.Fprintf(out, "  Docker's credHelpers for %s point gcr.io and *.pkg.dev hosts at gcrcred\n", strings.Join(nodes.DockerUsers, " and "))
	}
	if keeps {
		k.PlanKeep(out)
	}
	c.rbac().Plan(out)
}

// Uninstall undoes install: what the host keeps of the flags first (a
// restart then starts no kubelet with them), `node uninstall` on every
// node (flags, then files, from the node's record), what the host keeps of
// the files, and the per-pod identity RBAC install applied.
func Uninstall(ctx context.Context, t ClusterTool, o Options, out io.Writer) error {
	c := preflight(ctx, t, o, false)
	if err := c.Start(out, "Removing gcrcred from"); err != nil {
		return err
	}
	var before, after []Step
	if k, ok := t.(Keeper); ok {
		before, after = k.Unkeep(out, o.DryRun)
	}
	steps := append(before, c.UninstallSteps(nodelayout.Binary, o.Dist, c.hostOptions("").UninstallArgs(), o.DryRun)...)
	steps = append(steps, after...)
	if !o.DryRun {
		steps = append(steps, c.rbac().RevokeSteps()...)
	}
	return RunUninstall(ctx, out, steps, o.DryRun, t.Command("uninstall"))
}

// Status checks what the host keeps and, with `gcrcred node status`, every
// node; true only if all is well.
func Status(ctx context.Context, t ClusterTool, o Options, out io.Writer) (bool, error) {
	c := preflight(ctx, t, o, false)
	if err := c.Start(out, "gcrcred on"); err != nil {
		return false, err
	}
	r := &Report{Out: out}
	k, keeps := t.(Keeper)
	if keeps {
		k.CheckHost(r)
	}
	for _, n := range c.Nodes {
		fmt.Fprintf(out, "  node %s:\n", n.Name())
		NodeStatus(ctx, n, nodelayout.Binary, r)
		if keeps {
			k.CheckNode(ctx, n, r)
		}
	}
	return r.Verdict(t.Command("install")), nil
}

// NodeArchs prints the Linux architectures the cluster's nodes need, one
// a line (nothing when the tool cannot tell): what to build for them.
func NodeArchs(ctx context.Context, t ClusterTool, o Options, out io.Writer) error {
	c := preflight(ctx, t, o, false)
	for _, a := range c.Archs() {
		fmt.Fprintln(out, a)
	}
	return nil
}

// hostOptions are what every node gets, with binary the node's gcrcred.
func (c *Cluster) hostOptions(binary string) HostOptions {
	nodes := c.tool.Nodes()
	return HostOptions{
		Flavour: nodes.Flavour, Binary: binary, Credentials: c.CredentialsPath(), Registries: c.o.Registries,
		Pod: c.o.Pod, DockerUsers: nodes.DockerUsers, Settle: c.o.Settle, DryRun: c.o.DryRun,
	}
}

// firstBinary is the binary of the nodes' first architecture ("" if none).
func (c *Cluster) firstBinary() string {
	if archs := c.Archs(); len(archs) > 0 && c.Bins[archs[0]] != nil {
		return c.Bins[archs[0]].Path
	}
	return ""
}

// rbac is the API server's side of per-pod identity, through the cluster's
// kubectl context.
func (c *Cluster) rbac() RBAC {
	return NewRBAC(c.tool.KubectlContext(), c.o.Pod.Audience)
}

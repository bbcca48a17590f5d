package kind

import (
	"context"
	"fmt"
	"io"

	"github.com/gcrcred/gcrcred/internal/hostinstall"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
)

// uninstall runs `gcrcred node uninstall` on every node (flags, then files,
// from the node's record), then deletes the per-pod identity RBAC install
// applied.
func uninstall(ctx context.Context, o options, out io.Writer) error {
	c := preflight(ctx, o, false)
	if err := c.Start(out, "Removing gcrcred from"); err != nil {
		return err
	}
	steps := c.UninstallSteps(nodelayout.Binary, o.Dist, c.hostOptions("").UninstallArgs(), o.DryRun)
	if !o.DryRun {
		steps = append(steps, c.rbac().RevokeSteps()...)
	}
	return hostinstall.RunUninstall(ctx, out, steps, o.DryRun, "gcrcred kind uninstall --name "+o.name)
}

// status checks every node with `gcrcred node status`; true only if all
// is well.
func status(ctx context.Context, o options, out io.Writer) (bool, error) {
	c := preflight(ctx, o, false)
	if err := c.Start(out, "gcrcred on"); err != nil {
		return false, err
	}
	r := &hostinstall.Report{Out: out}
	for _, n := range c.Nodes {
		fmt.Fprintf(out, "  node %s:\n", n.Name())
		hostinstall.NodeStatus(ctx, n, nodelayout.Binary, r)
	}
	return r.Verdict("gcrcred kind install --name " + o.name), nil
}

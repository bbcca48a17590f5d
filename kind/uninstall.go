package kind

import (
	"context"
	"fmt"
	"io"

	"github.com/gcrcred/gcrcred/internal/hostinstall"
	"github.com/gcrcred/gcrcred/node"
)

// uninstall runs `gcrcred node uninstall` on every node (flags, then files,
// from the node's record), then deletes the per-pod identity RBAC install
// applied.
func uninstall(ctx context.Context, o options, out io.Writer) error {
	c := preflight(ctx, o, false)
	if err := c.Start(out, "Removing gcrcred from"); err != nil {
		return err
	}
	steps := c.UninstallSteps(node.Binary, o.Dist, c.hostOptions("").UninstallArgs(), o.DryRun)
	if !o.DryRun {
		steps = append(steps, c.rbac().RevokeSteps()...)
	}
	if err := hostinstall.RunSteps(ctx, out, steps); err != nil {
		return fmt.Errorf("%w; fix the cause and rerun `gcrcred kind uninstall --name %s`: it continues where it stopped", err, o.name)
	}
	if o.DryRun {
		fmt.Fprintln(out, "* Dry run: nothing was changed")
		return nil
	}
	fmt.Fprintln(out, "* gcrcred is removed")
	return nil
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
		hostinstall.NodeStatus(ctx, n, node.Binary, r)
	}
	if r.Problems > 0 {
		fmt.Fprintf(out, "* %d problem(s): `gcrcred kind install --name %s` sets everything up again\n", r.Problems, o.name)
		return false, nil
	}
	fmt.Fprintln(out, "* All well")
	return true, nil
}

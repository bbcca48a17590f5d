package kind

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/gcrcred/gcrcred/internal/hostinstall"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
)

// install gives the kubelets, with per-pod identity, the API server's
// permission to ask for its tokens first (before they start asking), then
// runs `gcrcred node install` on each node in turn (its files, its flags,
// a kubelet restart, rolled back on that node if the kubelet does not stay
// up). Every step is idempotent: a rerun after a failure continues.
func install(ctx context.Context, o options, out io.Writer) error {
	c := preflight(ctx, o, true)
	if done, err := c.Begin(out, o.DryRun, func() { printPlan(c, out) }); done {
		return err
	}
	c.PrintHeader(out, false, "")
	ho := c.hostOptions("")
	rbac := c.rbac()
	steps := append(rbac.GrantSteps(), c.InstallSteps(nodelayout.Binary, ho.Staged(), ho.InstallArgs)...)
	if err := hostinstall.RunSteps(ctx, out, steps); err != nil {
		return fmt.Errorf("%w; every kubelet still starts: fix the cause and rerun `gcrcred kind install --name %s`, it continues where it stopped", err, o.name)
	}
	fmt.Fprintf(out, "* gcrcred is installed on %d node(s): pods pull from gcr.io and Artifact Registry with no pull secrets.\n", len(c.Nodes))
	fmt.Fprintf(out, "  Check with `gcrcred kind status --name %s`. The nodes keep it across `docker restart` and reboots; a cluster created again with `kind create cluster` does not have it: run this again, or install with the DaemonSet (deploy/), which reaches every node.\n", o.name)
	rbac.NextStep(out)
	return nil
}

// printPlan says what install would change: every file each node gets,
// the flags, the API server's permission; what cannot be known yet says why.
func printPlan(c *cluster, out io.Writer) {
	c.PrintHeader(out, true, "kind could not be asked")
	c.PrintNodeFiles(out, "", func(binary, later string) ([]string, error) {
		ho := c.hostOptions(binary)
		ho.BinaryLater = later
		return ho.PlanLines()
	})
	var flags []string
	for _, f := range nodelayout.KubeletFlags() {
		flags = append(flags, f.String())
	}
	fmt.Fprintf(out, "  every node's kubelet gets %s in KUBELET_EXTRA_ARGS (/etc/default/kubelet), and a restart\n", strings.Join(flags, " "))
	c.rbac().Plan(out)
}

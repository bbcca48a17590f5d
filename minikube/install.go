package minikube

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/gcrcred/gcrcred/internal/hostinstall"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/minikube/minikubecli"
)

// install puts gcrcred on every node. With per-pod identity the API
// server's permission for the kubelets' token requests comes first. Files
// go first and flags last: file sync before any node (a node that restarts
// meanwhile gets the files), then `node install` on each node in turn (its
// files, its flags, a kubelet restart, rolled back if the kubelet does not
// stay up), and the profile's extra-config. Every step is idempotent: a
// rerun after a failure continues.
func install(ctx context.Context, o options, out io.Writer) error {
	c := preflight(ctx, o, true)
	if done, err := c.Begin(out, o.DryRun, func() { printPlan(c, out) }); done {
		return err
	}
	ho := c.hostOptions()
	files, err := ho.Files()
	if err != nil {
		return err
	}

	c.PrintHeader(out, false, "")

	rbac := c.rbac()
	steps := append(rbac.GrantSteps(), hostinstall.Step{
		What: "save files for minikube's file sync in " + minikubecli.FileSyncDir(),
		Do:   func(context.Context, io.Writer) (bool, error) { return syncFiles(files) },
	})
	steps = append(steps, c.InstallSteps(nodelayout.Binary, ho.Staged(), ho.InstallArgs)...)
	steps = append(steps, hostinstall.Step{
		What: fmt.Sprintf("save the kubelet flags in profile %q (extra-config, for the next minikube start)", o.profile),
		Do: func(context.Context, io.Writer) (bool, error) {
			pc, err := minikubecli.ReadProfileConfig(c.profile.Path()) // minikube may have rewritten it meanwhile
			if err != nil || !pc.AddKubelet(kubeletOptions()) {
				return false, err
			}
			return true, pc.Write()
		},
	})
	if err := hostinstall.RunSteps(ctx, out, steps); err != nil {
		return fmt.Errorf("%w; every kubelet still starts: fix the cause and rerun `gcrcred minikube install -p %s`, it continues where it stopped", err, o.profile)
	}
	fmt.Fprintf(out, "* gcrcred is installed on %d node(s): pods pull from gcr.io and Artifact Registry with no pull secrets.\n", len(c.Nodes))
	fmt.Fprintf(out, "  Check with `gcrcred minikube status -p %s`. The files are in minikube's file sync (%s), which every profile under this MINIKUBE_HOME receives.\n", o.profile, minikubecli.FileSyncDir())
	rbac.NextStep(out)
	return nil
}

// printPlan says what install would change: every file each node gets,
// the flags, the host's files; what cannot be known yet says why.
func printPlan(c *cluster, out io.Writer) {
	c.PrintHeader(out, true, "minikube could not be asked")
	c.PrintNodeFiles(out, ", also kept in "+minikubecli.FileSyncDir(), func(binary, later string) ([]string, error) {
		ho := c.hostOptions()
		ho.Binary, ho.BinaryLater = binary, later
		return ho.PlanLines()
	})
	var flags []string
	for _, f := range nodelayout.KubeletFlags() {
		flags = append(flags, f.String())
	}
	fmt.Fprintf(out, "  every node's kubelet gets %s on the ExecStart line of %s, and a restart\n", strings.Join(flags, " "), nodelayout.MinikubeDropIn)
	fmt.Fprintf(out, "  Docker's credHelpers for %s point gcr.io and *.pkg.dev hosts at gcrcred\n", strings.Join(nodelayout.MinikubeDockerUsers, " and "))
	fmt.Fprintf(out, "  the profile's saved extra-config (%s) gets kubelet.%s and kubelet.%s\n", minikubecli.ProfileConfigPath(c.o.profile), nodelayout.FlagProviderConfig, nodelayout.FlagProviderBinDir)
	c.rbac().Plan(out)
}

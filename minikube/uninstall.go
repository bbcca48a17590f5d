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

// uninstall undoes install: the profile's saved flags first (a restart
// then starts no kubelet with them), `node uninstall` on every node (flags,
// then files, from the node's record), the file-sync copies unless another
// profile's saved flags still name them, and the per-pod identity RBAC.
func uninstall(ctx context.Context, o options, out io.Writer) error {
	c := preflight(ctx, o, false)
	if err := c.Start(out, "Removing gcrcred from"); err != nil {
		return err
	}
	if o.DryRun {
		fmt.Fprintf(out, "  would take kubelet.%s and kubelet.%s out of %s\n", nodelayout.FlagProviderConfig, nodelayout.FlagProviderBinDir, c.profile.Path())
	}
	var steps []hostinstall.Step
	if !o.DryRun {
		steps = append(steps, hostinstall.Step{
			What: fmt.Sprintf("remove the kubelet flags from profile %q (extra-config)", o.profile),
			Do: func(context.Context, io.Writer) (bool, error) {
				pc, err := minikubecli.ReadProfileConfig(c.profile.Path())
				if err != nil || !pc.RemoveKubelet(kubeletOptions()) {
					return false, err
				}
				return true, pc.Write()
			},
		})
	}
	steps = append(steps, c.UninstallSteps(nodelayout.Binary, o.Dist, c.hostOptions().UninstallArgs(), o.DryRun)...)
	users := otherProfilesUsingUs(o.profile)
	switch {
	case len(users) > 0:
		fmt.Fprintf(out, "  gcrcred's files stay in minikube's file sync: profile(s) %s still use them\n", strings.Join(users, ", "))
	case o.DryRun:
		fmt.Fprintf(out, "  would remove gcrcred's files from minikube's file sync (%s)\n", minikubecli.FileSyncDir())
	default:
		steps = append(steps, hostinstall.Step{What: "remove gcrcred's files from minikube's file sync",
			Do: func(context.Context, io.Writer) (bool, error) { return unsyncFiles(ourFiles()) }})
	}
	if !o.DryRun {
		steps = append(steps, c.rbac().RevokeSteps()...)
	}
	return hostinstall.RunUninstall(ctx, out, steps, o.DryRun, "gcrcred minikube uninstall -p "+o.profile)
}

// otherProfilesUsingUs lists the other profiles under this MINIKUBE_HOME
// whose saved flags point at gcrcred: they need the file-sync files too.
func otherProfilesUsingUs(profile string) []string {
	var users []string
	for _, name := range minikubecli.OtherProfiles(profile) {
		pc, err := minikubecli.ReadProfileConfig(minikubecli.ProfileConfigPath(name))
		if err == nil && pc.HasKubelet(kubeletOptions()) {
			users = append(users, name)
		}
	}
	return users
}

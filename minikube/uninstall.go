package minikube

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/gcrcred/gcrcred/minikube/minikubecli"
	"github.com/gcrcred/gcrcred/node"
)

// uninstall undoes install: the profile's saved flags first (a restart
// then starts no kubelet with them), `node uninstall` on every node (flags,
// then files, from the node's record), and last the file-sync copies,
// unless another profile's saved flags still name them.
func uninstall(ctx context.Context, o options, out io.Writer) error {
	c := preflight(ctx, o, false)
	if len(c.problems) > 0 {
		return c.reportMissing(out)
	}
	fmt.Fprintf(out, "* Removing gcrcred from minikube profile %q (%s)\n", o.profile, c.describeNodes())
	if o.dryRun {
		fmt.Fprintf(out, "  would take kubelet.%s and kubelet.%s out of %s\n", node.FlagProviderConfig, node.FlagProviderBinDir, c.profile.Path())
	}
	var steps []step
	if !o.dryRun {
		steps = append(steps, step{
			what: fmt.Sprintf("remove the kubelet flags from profile %q (extra-config)", o.profile),
			do: func(context.Context, io.Writer) (bool, error) {
				pc, err := minikubecli.ReadProfileConfig(c.profile.Path())
				if err != nil || !pc.RemoveKubelet(kubeletOptions()) {
					return false, err
				}
				return true, pc.Write()
			},
		})
	}
	for _, ni := range c.nodes {
		steps = append(steps, step{node: ni.n.Name(), what: "gcrcred node uninstall",
			do: func(ctx context.Context, detail io.Writer) (bool, error) { return nodeUninstall(ctx, c, ni, detail) }})
	}
	users := otherProfilesUsingUs(o.profile)
	switch {
	case len(users) > 0:
		fmt.Fprintf(out, "  gcrcred's files stay in minikube's file sync: profile(s) %s still use them\n", strings.Join(users, ", "))
	case o.dryRun:
		fmt.Fprintf(out, "  would remove gcrcred's files from minikube's file sync (%s)\n", minikubecli.FileSyncDir())
	default:
		steps = append(steps, step{what: "remove gcrcred's files from minikube's file sync",
			do: func(context.Context, io.Writer) (bool, error) { return unsyncFiles(ourFiles()) }})
	}
	if err := runSteps(ctx, out, steps); err != nil {
		return fmt.Errorf("%w; fix the cause and rerun `gcrcred minikube uninstall -p %s`: it continues where it stopped", err, o.profile)
	}
	if o.dryRun {
		fmt.Fprintln(out, "* Dry run: nothing was changed")
		return nil
	}
	fmt.Fprintln(out, "* gcrcred is removed")
	return nil
}

// nodeUninstall runs `gcrcred node uninstall` with the node's own binary,
// or with one staged for it where that is gone.
func nodeUninstall(ctx context.Context, c *cluster, ni *nodeInfo, detail io.Writer) (bool, error) {
	args := []string{"uninstall", "--kubelet-settle", c.o.settle.String()}
	if c.o.dryRun {
		args = append(args, "--dry-run")
	}
	var out string
	var err error
	if hasBinary(ctx, ni.n) {
		out, err = runNodeCommand(ctx, ni.n, node.Binary, args...)
	} else {
		b, ferr := findBinary(c.o.dist, ni.arch)
		if ferr != nil {
			return false, fmt.Errorf("the node has no %s to undo its install with, and %v", node.Binary, ferr)
		}
		out, err = runStaged(ctx, ni.n, map[string]string{"gcrcred": b.path}, "", func(string) []string { return args })
	}
	io.WriteString(detail, out)
	return lastLine(out) != "unchanged" && !c.o.dryRun, err
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

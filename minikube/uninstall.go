package minikube

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// ourFiles are install's files by path and file-sync mode (content is not
// needed to remove them).
func ourFiles() []nodeFile { return plannedFiles("", "", nil) }

// uninstall undoes install in reverse: flags first (saved, then on each
// node, so no kubelet is ever left pointing at a removed file), then the
// node-local settings, the files, and last the file-sync copies.
func uninstall(ctx context.Context, o options, out io.Writer) error {
	c, err := connect(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "* Removing gcrcred from minikube profile %q (%d node(s))\n", o.profile, len(c.nodes))
	if err := runSteps(ctx, out, uninstallSteps(c, o), o.dryRun); err != nil {
		return fmt.Errorf("%w\nFix the cause and rerun `gcrcred minikube uninstall -p %s`: it continues where it stopped", err, o.profile)
	}
	if o.dryRun {
		fmt.Fprintln(out, "* Dry run: nothing was changed")
		return nil
	}
	fmt.Fprintln(out, "* gcrcred is removed")
	return nil
}

func uninstallSteps(c *cluster, o options) []step {
	steps := []step{{
		what: fmt.Sprintf("remove the kubelet flags from profile %q (extra-config)", o.profile),
		do: func(context.Context) (bool, error) {
			pc, err := readProfileConfig(c.profile.path)
			if err != nil || !pc.removeOurs() {
				return false, err
			}
			return true, pc.write()
		},
	}}
	for _, n := range c.nodes {
		steps = append(steps, step{node: n.Name(), what: "restart the kubelet without gcrcred's flags",
			do: func(ctx context.Context) (bool, error) { return removeKubeletFlags(ctx, n, o.settle) }})
	}
	for _, n := range c.nodes {
		steps = append(steps, step{node: n.Name(), what: "restore Docker configs, remove cached tokens and gcrcred's files",
			do: func(ctx context.Context) (bool, error) { return removeFromNode(ctx, n) }})
	}
	if users := otherProfilesUsingUs(o.profile); len(users) > 0 {
		steps = append(steps, step{what: fmt.Sprintf("keep gcrcred's files in minikube's file sync: profile(s) %s still use them", strings.Join(users, ", ")),
			do: func(context.Context) (bool, error) { return false, nil }})
	} else {
		steps = append(steps, step{what: "remove gcrcred's files from minikube's file sync",
			do: func(context.Context) (bool, error) { return unsyncFiles(ourFiles()) }})
	}
	return steps
}

// removeKubeletFlags takes the flags and gcrcred's boot drop-in off a node
// and restarts the kubelet, if there was anything to take off.
func removeKubeletFlags(ctx context.Context, n Node, settle time.Duration) (bool, error) {
	kl, err := readKubelet(ctx, n)
	if err != nil {
		return false, err
	}
	if !kl.hasFile {
		return false, nil
	}
	updated, changed := removeFlags(kl.dropIn)
	bootDropIn, err := n.Run(ctx, "[ -f "+NodeBootDropIn+" ] && echo yes || true")
	if err != nil {
		return false, err
	}
	if !changed && !hasAnyOurFlag(kl.running) && strings.TrimSpace(bootDropIn) != "yes" {
		return false, nil
	}
	return true, setKubeletDropIn(ctx, n, updated, true, settle, "")
}

// removeFromNode runs node-cleanup (with the node's own binary, if it is
// there) and removes the files and the directories install created.
func removeFromNode(ctx context.Context, n Node) (bool, error) {
	out, err := n.Run(ctx, `present=
for p in `+strings.Join(append(append([]string{}, ownDirs...), NodeCommand, NodeDockerHelper), " ")+`; do [ -e "$p" ] && present=yes; done
echo "present=$present"
if [ -x `+NodeBinary+` ]; then `+NodeBinary+` minikube node-cleanup; else echo "nobinary=yes"; fi`)
	if err != nil {
		return false, fmt.Errorf("restoring Docker configs: %w", err)
	}
	kv := keyValues(out)
	if kv["present"] != "yes" {
		return false, nil
	}
	if _, err := n.Run(ctx, removeFilesScript()); err != nil {
		return false, fmt.Errorf("removing files: %w", err)
	}
	return true, nil
}

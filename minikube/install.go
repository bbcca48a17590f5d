package minikube

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// install puts gcrcred on every node. Files go first and flags last: the
// kubelet exits at start if a flag names a missing file, so until the last
// steps no kubelet has a flag, and each kubelet gets its flags only after
// its own files are in place (and gets its old flags back if it will not
// start). Every step is idempotent: a rerun after a failure continues.
func install(ctx context.Context, o options, out io.Writer) error {
	creds, err := findCredentials(o.credentials)
	if err != nil {
		return err
	}
	config, err := providerConfig(o.registries)
	if err != nil {
		return err
	}
	c, err := connect(ctx, o)
	if err != nil {
		return err
	}
	plans, err := planNodes(ctx, c, o, creds, config)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "gcrcred-minikube-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	fmt.Fprintf(out, "* Installing gcrcred on minikube profile %q (%s)\n", o.profile, describeNodes(plans))
	fmt.Fprintf(out, "  credentials: %s, %s (%s)\n", creds.kind, orUnknown(creds.account), creds.origin)
	for _, n := range creds.notes {
		fmt.Fprintf(out, "  note: %s\n", n)
	}
	if others := otherProfiles(o.profile); len(others) > 0 {
		fmt.Fprintf(out, "  note: minikube's file sync is shared: profile(s) %s get gcrcred's files (not its kubelet flags) at their next start\n", strings.Join(others, ", "))
	}
	if err := runSteps(ctx, out, installSteps(c, plans, o, tmp), o.dryRun); err != nil {
		return fmt.Errorf("%w\nNothing is left half-done on a kubelet: fix the cause and rerun `gcrcred minikube install -p %s`, it continues where it stopped", err, o.profile)
	}
	if o.dryRun {
		fmt.Fprintln(out, "* Dry run: nothing was changed")
		return nil
	}
	fmt.Fprintf(out, "* gcrcred is installed on %d node(s): pods pull from gcr.io and Artifact Registry with no pull secrets.\n", len(plans))
	fmt.Fprintf(out, "  Check with `gcrcred minikube status -p %s`. The files are in minikube's file sync (%s), which every profile under this MINIKUBE_HOME receives.\n", o.profile, fileSyncDir())
	return nil
}

func installSteps(c *cluster, plans []nodePlan, o options, tmp string) []step {
	steps := []step{{
		what: "save files for minikube's file sync in " + fileSyncDir(),
		do:   func(context.Context) (bool, error) { return syncFiles(plans[0].files) },
	}}
	for _, p := range plans {
		steps = append(steps, step{node: p.node.Name(), what: "install binary, credentials and kubelet provider config",
			do: func(ctx context.Context) (bool, error) { return installFiles(ctx, p.node, p.files, tmp) }})
	}
	for _, p := range plans {
		steps = append(steps, step{node: p.node.Name(), what: "point Docker at gcrcred (root, docker) and make token caches",
			do: func(ctx context.Context) (bool, error) {
				out, err := p.node.Run(ctx, NodeBinary+" minikube node-setup")
				return strings.TrimSpace(out) != "unchanged", err
			}})
	}
	for _, p := range plans {
		steps = append(steps, step{node: p.node.Name(), what: "restart the kubelet with --" + FlagProviderConfig,
			do: func(ctx context.Context) (bool, error) { return addKubeletFlags(ctx, p.node, o.settle) }})
	}
	steps = append(steps, step{
		what: fmt.Sprintf("save the kubelet flags in profile %q (extra-config, for the next minikube start)", o.profile),
		do: func(context.Context) (bool, error) {
			pc, err := readProfileConfig(c.profile.path) // minikube may have rewritten it meanwhile
			if err != nil || !pc.addOurs() {
				return false, err
			}
			return true, pc.write()
		},
	})
	return steps
}

// addKubeletFlags adds the flags to a node's drop-in and restarts the
// kubelet, unless it already runs with them.
func addKubeletFlags(ctx context.Context, n Node, settle time.Duration) (bool, error) {
	kl, err := readKubelet(ctx, n)
	if err != nil {
		return false, err
	}
	updated, changed, err := addFlags(kl.dropIn)
	if err != nil {
		return false, err
	}
	if !changed && kl.active && hasOurFlags(kl.running) {
		return false, nil
	}
	return true, setKubeletDropIn(ctx, n, updated, false, settle, filesReadyCheck())
}

func describeNodes(plans []nodePlan) string {
	var s []string
	for _, p := range plans {
		s = append(s, p.node.Name()+" "+p.arch)
	}
	return strings.Join(s, ", ")
}

func orUnknown(s string) string {
	if s == "" {
		return "account unknown"
	}
	return s
}

package minikubecli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/gcrcred/gcrcred/internal/hostinstall"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
)

// What the host keeps for a profile's nodes (hostinstall.Keeper): the
// files in minikube's file sync (filesync.go), which minikube copies to
// every node at each start and to added nodes, and the kubelet flags in
// the profile's saved extra-config, which minikube puts on the kubelet's
// command line at each start.

// KeptIn says where the nodes' files are kept too, for plans.
func (t *Tool) KeptIn() string { return ", also kept in " + t.Home.FileSyncDir() }

// PlanKeep prints the plan's line for the profile's saved flags.
func (t *Tool) PlanKeep(out io.Writer) {
	fmt.Fprintf(out, "  the profile's saved extra-config (%s) gets kubelet.%s and kubelet.%s\n", t.Home.ProfileConfigPath(t.Profile), nodelayout.FlagProviderConfig, nodelayout.FlagProviderBinDir)
}

// Keep: the files into file sync before any node (a node that restarts
// meanwhile gets them), the flags into the saved extra-config after every
// node has them.
func (t *Tool) Keep(files []hostinstall.NodeFile) (before, after []hostinstall.Step) {
	before = []hostinstall.Step{{
		What: "save files for minikube's file sync in " + t.Home.FileSyncDir(),
		Do:   func(context.Context, io.Writer) (bool, error) { return syncFiles(t.Home, files) },
	}}
	after = []hostinstall.Step{{
		What: fmt.Sprintf("save the kubelet flags in profile %q (extra-config, for the next minikube start)", t.Profile),
		Do:   func(context.Context, io.Writer) (bool, error) { return t.editFlags((*ProfileConfig).AddKubelet) },
	}}
	return before, after
}

// Unkeep: the saved flags out before any node (a restart then starts no
// kubelet with them), the file-sync copies after, unless another profile's
// saved flags still name them.
func (t *Tool) Unkeep(out io.Writer, dryRun bool) (before, after []hostinstall.Step) {
	if dryRun {
		fmt.Fprintf(out, "  would take kubelet.%s and kubelet.%s out of %s\n", nodelayout.FlagProviderConfig, nodelayout.FlagProviderBinDir, t.config.Path())
	} else {
		before = []hostinstall.Step{{
			What: fmt.Sprintf("remove the kubelet flags from profile %q (extra-config)", t.Profile),
			Do:   func(context.Context, io.Writer) (bool, error) { return t.editFlags((*ProfileConfig).RemoveKubelet) },
		}}
	}
	users := t.otherProfilesUsingUs()
	switch {
	case len(users) > 0:
		fmt.Fprintf(out, "  gcrcred's files stay in minikube's file sync: profile(s) %s still use them\n", strings.Join(users, ", "))
	case dryRun:
		fmt.Fprintf(out, "  would remove gcrcred's files from minikube's file sync (%s)\n", t.Home.FileSyncDir())
	default:
		after = []hostinstall.Step{{What: "remove gcrcred's files from minikube's file sync",
			Do: func(context.Context, io.Writer) (bool, error) { return unsyncFiles(t.Home, ourFiles()) }}}
	}
	return before, after
}

// editFlags changes the profile's saved flags, read again (minikube may
// have rewritten the file meanwhile), and saves them if edit changed them.
func (t *Tool) editFlags(edit func(*ProfileConfig, []Option) bool) (bool, error) {
	pc, err := ReadProfileConfig(t.Home.ProfileConfigPath(t.Profile))
	if err != nil || !edit(pc, kubeletOptions()) {
		return false, err
	}
	return true, pc.Write()
}

// otherProfilesUsingUs lists the other profiles under this MINIKUBE_HOME
// whose saved flags point at gcrcred: they need the file-sync files too.
func (t *Tool) otherProfilesUsingUs() []string {
	var users []string
	for _, name := range t.Home.OtherProfiles(t.Profile) {
		pc, err := ReadProfileConfig(t.Home.ProfileConfigPath(name))
		if err == nil && pc.HasKubelet(kubeletOptions()) {
			users = append(users, name)
		}
	}
	return users
}

// CheckHost checks file sync and the saved flags.
func (t *Tool) CheckHost(r *hostinstall.Report) {
	fmt.Fprintln(r.Out, "  host (kept across minikube start and node add):")
	synced := syncedFiles(t.Home, ourFiles())
	t.synced = synced
	var lacking []string
	for _, f := range ourFiles() {
		if _, ok := synced[f.Path]; !ok && !optionalFile(f.Path) {
			lacking = append(lacking, f.Path)
		}
	}
	if len(lacking) == 0 {
		r.Check(true, "file sync", fmt.Sprintf("%d files in %s", len(synced), t.Home.FileSyncDir()))
	} else {
		r.Check(false, "file sync", fmt.Sprintf("%s missing from %s", strings.Join(lacking, ", "), t.Home.FileSyncDir()))
	}
	if t.config.HasKubelet(kubeletOptions()) {
		r.Check(true, "extra-config", "the kubelet flags are saved in "+t.config.Path())
	} else {
		r.Check(false, "extra-config", "the kubelet flags are not saved in "+t.config.Path()+": the next minikube start drops them (a later `minikube start --extra-config` replaces the saved list)")
	}
}

// CheckNode checks that the node's files are file sync's: each one the
// node has is in file sync with the same content, and the other way round.
func (t *Tool) CheckNode(ctx context.Context, n hostinstall.Node, r *hostinstall.Report) {
	synced := t.synced // as CheckHost read them
	var paths []string
	for _, f := range ourFiles() {
		paths = append(paths, f.Path)
	}
	onNode := hostinstall.NodeSHA256(ctx, n, nodelayout.Binary, paths...)
	var stale []string
	for _, p := range paths {
		want, inSync := synced[p]
		have, ok := onNode[p]
		if !ok && !inSync && optionalFile(p) {
			continue
		}
		if !ok || !inSync || have != sha(want) {
			stale = append(stale, p)
		}
	}
	if len(stale) == 0 {
		r.Check(true, "persistence", "the node's files match minikube's file sync")
	} else {
		r.Check(false, "persistence", strings.Join(stale, ", ")+": not in file sync, or different from the node's")
	}
}

// optionalFile: the credentials and the workload identity configuration
// are there only when install was given them.
func optionalFile(p string) bool {
	return p == nodelayout.Credentials || p == nodelayout.WorkloadIdentity
}

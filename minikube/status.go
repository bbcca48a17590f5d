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

// status checks the host (file sync, the saved flags) and, with `gcrcred
// node status`, every node; true only if all is well.
func status(ctx context.Context, o options, out io.Writer) (bool, error) {
	c := preflight(ctx, o, false)
	if err := c.Start(out, "gcrcred on"); err != nil {
		return false, err
	}
	r := &hostinstall.Report{Out: out}
	fmt.Fprintln(out, "  host (kept across minikube start and node add):")
	synced := syncedFiles(ourFiles())
	var lacking []string
	for _, f := range ourFiles() {
		if _, ok := synced[f.Path]; !ok && !optionalFile(f.Path) {
			lacking = append(lacking, f.Path)
		}
	}
	if len(lacking) == 0 {
		r.Check(true, "file sync", fmt.Sprintf("%d files in %s", len(synced), minikubecli.FileSyncDir()))
	} else {
		r.Check(false, "file sync", fmt.Sprintf("%s missing from %s", strings.Join(lacking, ", "), minikubecli.FileSyncDir()))
	}
	if c.profile.HasKubelet(kubeletOptions()) {
		r.Check(true, "extra-config", "the kubelet flags are saved in "+c.profile.Path())
	} else {
		r.Check(false, "extra-config", "the kubelet flags are not saved in "+c.profile.Path()+": the next minikube start drops them (a later `minikube start --extra-config` replaces the saved list)")
	}
	for _, n := range c.Nodes {
		fmt.Fprintf(out, "  node %s:\n", n.Name())
		hostinstall.NodeStatus(ctx, n, nodelayout.Binary, r)
		persistence(ctx, n, r, synced)
	}
	return r.Verdict("gcrcred minikube install -p " + o.profile), nil
}

// optionalFile: the credentials and the workload identity configuration
// are there only when install was given them.
func optionalFile(p string) bool {
	return p == nodelayout.Credentials || p == nodelayout.WorkloadIdentity
}

// persistence checks that the node's files are file sync's: each one the
// node has is in file sync with the same content, and the other way round.
func persistence(ctx context.Context, n hostinstall.Node, r *hostinstall.Report, synced map[string][]byte) {
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

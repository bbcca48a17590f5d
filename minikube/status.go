package minikube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/gcrcred/gcrcred/minikube/minikubecli"
	"github.com/gcrcred/gcrcred/node"
)

// report prints status lines, as `gcrcred node status` does, and counts
// the problems.
type report struct {
	out      io.Writer
	problems int
}

func (r *report) check(ok bool, what, detail string) {
	mark := "ok"
	if !ok {
		mark = "PROBLEM"
		r.problems++
	}
	fmt.Fprintf(r.out, "    %-7s %s: %s\n", mark, what, detail)
}

// status checks the host (file sync, the saved flags) and, with `gcrcred
// node status`, every node; true only if all is well.
func status(ctx context.Context, o options, out io.Writer) (bool, error) {
	c := preflight(ctx, o, false)
	if len(c.problems) > 0 {
		return false, c.reportMissing(out)
	}
	r := &report{out: out}
	fmt.Fprintf(out, "* gcrcred on minikube profile %q (%d node(s))\n", o.profile, len(c.nodes))
	fmt.Fprintln(out, "  host (kept across minikube start and node add):")
	synced := syncedFiles(ourFiles())
	r.check(len(synced) == len(ourFiles()), "file sync", fmt.Sprintf("%d of %d files in %s", len(synced), len(ourFiles()), minikubecli.FileSyncDir()))
	if c.profile.HasKubelet(kubeletOptions()) {
		r.check(true, "extra-config", "the kubelet flags are saved in "+c.profile.Path())
	} else {
		r.check(false, "extra-config", "the kubelet flags are not saved in "+c.profile.Path()+": the next minikube start drops them (a later `minikube start --extra-config` replaces the saved list)")
	}
	for _, ni := range c.nodes {
		fmt.Fprintf(out, "  node %s:\n", ni.n.Name())
		nodeStatus(ctx, ni.n, r, synced)
	}
	if r.problems > 0 {
		fmt.Fprintf(out, "* %d problem(s): `gcrcred minikube install -p %s` sets everything up again\n", r.problems, o.profile)
		return false, nil
	}
	fmt.Fprintln(out, "* All well")
	return true, nil
}

// nodeStatus shows `gcrcred node status` of one node (its checks, not its
// summary) and checks that the node's files are file sync's.
func nodeStatus(ctx context.Context, n *minikubecli.Node, r *report, synced map[string][]byte) {
	if !hasBinary(ctx, n) {
		r.check(false, "binary", node.Binary+" is missing")
	} else {
		text, _ := runNodeCommand(ctx, n, node.Binary, "status")
		for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			switch {
			case strings.HasPrefix(l, "  "):
				fmt.Fprintln(r.out, "  "+l)
				if strings.HasPrefix(strings.TrimSpace(l), "PROBLEM") {
					r.problems++
				}
			case strings.HasPrefix(l, "kubelet set-up:"):
				fmt.Fprintln(r.out, "    "+l)
			}
		}
	}

	var paths []string
	for _, f := range ourFiles() {
		paths = append(paths, f.Path)
	}
	onNode := nodeSHA256(ctx, n, paths...)
	var stale []string
	for _, p := range paths {
		want, inSync := synced[p]
		if have, ok := onNode[p]; !ok || !inSync || have != sha(want) {
			stale = append(stale, p)
		}
	}
	if len(stale) == 0 {
		r.check(true, "persistence", "the node's files match minikube's file sync")
	} else {
		r.check(false, "persistence", strings.Join(stale, ", ")+": not in file sync, or different from the node's")
	}
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

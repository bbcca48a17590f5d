package minikube

import (
	"context"
	"strings"
)

// Node is one machine of a minikube profile, as kind's nodes.Node is one
// container: all the installer does on a node goes through these two calls.
type Node interface {
	Name() string
	// Run runs a POSIX sh script as root and returns its stdout. Scripts use
	// only what both a Buildroot (busybox) node and a Debian one have.
	Run(ctx context.Context, script string) (stdout string, err error)
	// CopyFile copies a host file to an absolute node path. Like
	// `minikube cp`, the node file may end up world-readable (0644):
	// callers copy secrets only into a private directory.
	CopyFile(ctx context.Context, hostPath, nodePath string) error
}

// shQuote quotes s for POSIX sh.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// lines splits command output into trimmed non-empty lines, dropping the
// carriage returns an ssh pty adds.
func lines(out string) []string {
	var ls []string
	for _, l := range strings.Split(strings.ReplaceAll(out, "\r", ""), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			ls = append(ls, l)
		}
	}
	return ls
}

// keyValues parses "key=value" lines; other lines are ignored.
func keyValues(out string) map[string]string {
	kv := map[string]string{}
	for _, l := range lines(out) {
		if k, v, ok := strings.Cut(l, "="); ok {
			kv[k] = v
		}
	}
	return kv
}

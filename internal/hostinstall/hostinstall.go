// Package hostinstall is the engine of the installers that run on a host
// and reach every node of a cluster through its CLI (`gcrcred minikube`,
// `gcrcred kind`): install, uninstall, status and dry-run plans written
// once (engine.go) over a ClusterTool (tool.go), and their command line
// (Spec). With it: preflight problems listed all at once with their fixes,
// the node binary picked by `uname -m` (never from the current directory),
// the host's credentials checked for copying, files staged in a root-only
// directory on a node and `gcrcred node ...` run there, steps printed one
// line each, the nodes' status, and the API server's permission for
// per-pod identity. It knows no particular cluster tool.
package hostinstall

import (
	"context"
	"fmt"
	"io"

	"github.com/gcrcred/gcrcred/internal/nodeexec"
)

// Node is a node the host reaches: it runs argv as root and copies a host
// file to a node path (a file that may end up readable by everyone on the
// node: callers copy only into a root-only directory).
type Node interface {
	nodeexec.Node
	Name() string
	CopyFile(ctx context.Context, hostPath, nodePath string) error
}

// Problems are everything a command lacks, each with its fix: preflight
// collects them all before it reports, so one run names every one.
type Problems []string

// Add records a problem.
func (p *Problems) Add(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

// Report prints the problems and returns the one-line error the command
// ends with.
func (p Problems) Report(out io.Writer) error {
	fmt.Fprintf(out, "* Missing (%d), each with its fix:\n", len(p))
	for _, m := range p {
		fmt.Fprintf(out, "  - %s\n", m)
	}
	return fmt.Errorf("%d thing(s) missing (listed above): fix them and rerun", len(p))
}

package minikube

import (
	"context"
	"fmt"
	"io"
)

// step is one idempotent action, on one node or on the host. It runs in
// order, prints one line, and reports whether it changed anything.
type step struct {
	node string // "" for the host
	what string
	do   func(ctx context.Context) (changed bool, err error)
}

// stepError says which step failed, and on which node.
type stepError struct {
	step step
	err  error
}

func (e *stepError) Error() string {
	where := "host"
	if e.step.node != "" {
		where = "node " + e.step.node
	}
	return fmt.Sprintf("%s: %s: %v", where, e.step.what, e.err)
}

func (e *stepError) Unwrap() error { return e.err }

// runSteps runs steps in order, each printing "  - NODE: what ... result",
// and stops at the first failure. With dryRun it prints and runs nothing.
func runSteps(ctx context.Context, out io.Writer, steps []step, dryRun bool) error {
	for _, s := range steps {
		label := s.what
		if s.node != "" {
			label = s.node + ": " + s.what
		}
		if dryRun {
			fmt.Fprintf(out, "  - %s (dry run: not done)\n", label)
			continue
		}
		fmt.Fprintf(out, "  - %s ...", label)
		changed, err := s.do(ctx)
		switch {
		case err != nil:
			fmt.Fprintln(out, " failed")
			return &stepError{s, err}
		case changed:
			fmt.Fprintln(out, " done")
		default:
			fmt.Fprintln(out, " unchanged")
		}
	}
	return nil
}

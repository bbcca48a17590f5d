package hostinstall

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
)

// Step is one idempotent action, on one node or on the host. It runs in
// order, prints one line, and reports whether it changed anything; what it
// writes to its io.Writer is shown under that line.
type Step struct {
	Node string // "" for the host
	What string
	Do   func(ctx context.Context, detail io.Writer) (changed bool, err error)
}

// stepError says which step failed, and on which node.
type stepError struct {
	step Step
	err  error
}

func (e *stepError) Error() string {
	where := "host"
	if e.step.Node != "" {
		where = "node " + e.step.Node
	}
	return fmt.Sprintf("%s: %s: %v", where, e.step.What, e.err)
}

func (e *stepError) Unwrap() error { return e.err }

// RunUninstall runs uninstall's steps and says how it ended; rerun is the
// command that continues where a failure stopped it.
func RunUninstall(ctx context.Context, out io.Writer, steps []Step, dryRun bool, rerun string) error {
	if err := RunSteps(ctx, out, steps); err != nil {
		return fmt.Errorf("%w; fix the cause and rerun `%s`: it continues where it stopped", err, rerun)
	}
	if dryRun {
		fmt.Fprintln(out, "* Dry run: nothing was changed")
	} else {
		fmt.Fprintln(out, "* gcrcred is removed")
	}
	return nil
}

// RunSteps runs steps in order, each printing "  - NODE: what ... result"
// and its detail indented below, and stops at the first failure.
func RunSteps(ctx context.Context, out io.Writer, steps []Step) error {
	for _, s := range steps {
		label := s.What
		if s.Node != "" {
			label = s.Node + ": " + s.What
		}
		fmt.Fprintf(out, "  - %s ...", label)
		var detail bytes.Buffer
		changed, err := s.Do(ctx, &detail)
		switch {
		case err != nil:
			fmt.Fprintln(out, " failed")
		case changed:
			fmt.Fprintln(out, " done")
		default:
			fmt.Fprintln(out, " unchanged")
		}
		for _, l := range strings.Split(strings.TrimRight(detail.String(), "\n"), "\n") {
			if l != "" {
				fmt.Fprintln(out, "      "+l)
			}
		}
		if err != nil {
			return &stepError{s, err}
		}
	}
	return nil
}

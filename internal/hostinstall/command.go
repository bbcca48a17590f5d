package hostinstall

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/registries"
)

// Flags are what every host-side installer's command line takes.
type Flags struct {
	Credentials string
	Dist        string
	Registries  []string
	DryRun      bool
	Settle      time.Duration
	regs        cli.OptionalString
}

// FlagsHelp describes Flags (but --credentials, said per installer).
const FlagsHelp = `  --dist DIR             where gcrcred-linux-amd64 and gcrcred-linux-arm64 are
                         (default: $GCRCRED_DIST, else the directory of this gcrcred)
  --registries R,...     extra registry hosts or patterns (default: $GCRCRED_REGISTRIES)
  --kubelet-settle D     how long a restarted kubelet must stay up (default 3s)
  --dry-run              print every file each node would get and every change,
                         then everything missing; change nothing
`

// Add adds --dist, --dry-run, --kubelet-settle, and with copies (install)
// --credentials and --registries.
func (f *Flags) Add(fs *flag.FlagSet, copies bool) {
	fs.StringVar(&f.Dist, "dist", os.Getenv("GCRCRED_DIST"), "")
	fs.BoolVar(&f.DryRun, "dry-run", false, "")
	fs.DurationVar(&f.Settle, "kubelet-settle", 3*time.Second, "")
	if copies {
		fs.StringVar(&f.Credentials, "credentials", "", "")
		fs.Var(&f.regs, "registries", "")
	}
}

// FlagSet is more flags with a check of their own (per-pod identity).
type FlagSet interface {
	AddFlags(fs *flag.FlagSet)
	CheckFlags() error
}

// Parse adds Flags (copies: install's too, and more) to the command,
// parses args and checks them. When it returns false, the command exits
// with code (help, or a usage error already reported).
func (f *Flags) Parse(c *cli.Command, args []string, copies bool, more FlagSet, stdout, stderr io.Writer) (ok bool, code int) {
	f.Add(c.Flags, copies)
	if copies {
		more.AddFlags(c.Flags)
	}
	if ok, code := c.Parse(args, stdout, stderr); !ok {
		return false, code
	}
	for _, err := range []error{f.Check(), more.CheckFlags()} {
		if err != nil {
			return false, c.UsageError(stderr, "%v", err)
		}
	}
	return true, 0
}

// Check reads --registries (default: GCRCRED_REGISTRIES) and checks
// --kubelet-settle; its error is a usage error.
func (f *Flags) Check() error {
	var err error
	if f.Registries, err = registries.ParseList(f.regs.Or(os.Getenv(registries.EnvExtra))); err != nil {
		return err
	}
	if f.Settle < 0 {
		return fmt.Errorf("--kubelet-settle %s is negative", f.Settle)
	}
	return nil
}

// Verbs are an installer's commands over its options O: install,
// uninstall, status, and hidden ones by name.
type Verbs[O any] struct {
	Install, Uninstall func(context.Context, O, io.Writer) error
	Status             func(context.Context, O, io.Writer) (ok bool, err error)
	Hidden             map[string]func(context.Context, O, io.Writer) error
}

// Run runs verb (its command's name for messages) with SIGINT cancelling
// it: exit 0, 1 with the failure on one line, or 1 when status finds
// problems.
func (v Verbs[O]) Run(name, verb string, o O, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ok, err := true, error(nil)
	switch verb {
	case "install":
		err = v.Install(ctx, o, stdout)
	case "uninstall":
		err = v.Uninstall(ctx, o, stdout)
	case "status":
		ok, err = v.Status(ctx, o, stdout)
	default:
		err = v.Hidden[verb](ctx, o, stdout)
	}
	switch {
	case err != nil:
		return cli.Fail(stderr, name, err)
	case !ok:
		return 1
	}
	return 0
}

// Start begins a command after preflight: anything missing ends it,
// reported; otherwise it prints "* WHAT CLUSTER (NODES)".
func (c *Cluster) Start(out io.Writer, what string) error {
	if len(c.Problems) > 0 {
		return c.Problems.Report(out)
	}
	fmt.Fprintf(out, "* %s %s (%s)\n", what, c.Name, c.DescribeNodes())
	return nil
}

// Begin is what comes before an install's steps: with --dry-run, the plan
// (printed by plan), then what is missing; otherwise anything missing
// stops the command. When done, the command ends with err.
func (c *Cluster) Begin(out io.Writer, dryRun bool, plan func()) (done bool, err error) {
	if dryRun {
		plan()
	}
	if len(c.Problems) > 0 {
		return true, c.Problems.Report(out)
	}
	if dryRun {
		fmt.Fprintln(out, "* Dry run: nothing was changed")
	}
	return dryRun, nil
}

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
	"github.com/gcrcred/gcrcred/internal/settings"
)

// Flags are what every host-side installer's command line takes.
type Flags struct {
	Credentials string
	Dist        string
	Registries  []string
	DryRun      bool
	Settle      time.Duration
	// Host are the settings of this host (cli.Call.Settings, with
	// --credentials as CredentialsFlag), set by Check.
	Host settings.Settings
	regs cli.OptionalString
}

// Add adds uninstall's flags (--dist, --dry-run, --kubelet-settle), and
// with install also --credentials and --registries.
func (f *Flags) Add(fs *flag.FlagSet, install bool) {
	fs.StringVar(&f.Dist, "dist", "", "`DIR` holding gcrcred-linux-amd64 and gcrcred-linux-arm64 (default: $GCRCRED_DIST, else the directory of this gcrcred)")
	fs.BoolVar(&f.DryRun, "dry-run", false, "print every file each node would get and every change, then everything missing; change nothing")
	fs.DurationVar(&f.Settle, "kubelet-settle", 3*time.Second, "how long a restarted kubelet must stay up, a `DURATION`")
	if install {
		fs.StringVar(&f.Credentials, "credentials", "", "credentials `FILE` to copy to the nodes (default: what gcrcred uses on this host: see `gcrcred doctor`)")
		fs.Var(&f.regs, "registries", "extra registry hosts or `PATTERNS`, comma-separated (default: $GCRCRED_REGISTRIES)")
	}
}

// Check reads --registries (default: GCRCRED_REGISTRIES) and --dist
// (default: GCRCRED_DIST) over the host's settings s, and checks
// --kubelet-settle; its error is a usage error.
func (f *Flags) Check(s settings.Settings) error {
	f.Host = s
	f.Host.CredentialsFlag = f.Credentials
	var err error
	if f.Registries, err = registries.ParseList(f.regs.Or(s.Registries)); err != nil {
		return err
	}
	if f.Dist == "" {
		f.Dist = s.Dist
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

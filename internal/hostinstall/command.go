package hostinstall

import (
	"flag"
	"fmt"
	"io"
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

package hostinstall

import (
	"context"
	"io"
	"os"
	"os/signal"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/podinstall"
	"github.com/gcrcred/gcrcred/internal/settings"
)

// Spec is a host-side installer's command line (`gcrcred minikube`,
// `gcrcred kind`): its texts, its own flags, and its tool, made once the
// flags are read. Command makes install, uninstall and status of it, with
// the flags every installer shares.
type Spec struct {
	Name, Summary, Help string
	InstallSummary      string
	InstallHelp         string
	// PodHelp follows the per-pod identity flags' title in install's help:
	// how the RBAC reaches this tool's cluster.
	PodHelp                   string
	StatusSummary, StatusHelp string
	// Flags are the tool's own flags, which every verb takes.
	Flags func(fs *cli.FlagSet)
	// Tool is the cluster's tool, for the flags as given.
	Tool func(s settings.Settings) ClusterTool
	// NodeArchs adds the hidden `node-archs` verb (for install.sh: which
	// architectures to build), which takes install's flags.
	NodeArchs bool
}

// verb is an engine function as a command's Run.
type verb func(ctx context.Context, t ClusterTool, o Options, out io.Writer) (ok bool, err error)

// Command is the installer's command tree.
func (s Spec) Command() *cli.Command {
	var o Options
	installFlags := func(fs *cli.FlagSet) {
		s.Flags(fs)
		o.Flags.Add(fs.FlagSet, true)
		fs.Group(podinstall.Title+"\n"+s.PodHelp, func() { o.Pod.AddFlags(fs.FlagSet) })
	}
	run := func(v verb) func(c *cli.Call) int {
		return func(c *cli.Call) int {
			for _, err := range []error{o.Flags.Check(c.Settings), o.Pod.CheckFlags()} {
				if err != nil {
					return c.UsageError("%v", err)
				}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			ok, err := v(ctx, s.Tool(c.Settings), o, c.Stdout)
			switch {
			case err != nil:
				return c.Fail(err)
			case !ok:
				return 1
			}
			return 0
		}
	}
	done := func(f func(context.Context, ClusterTool, Options, io.Writer) error) verb {
		return func(ctx context.Context, t ClusterTool, o Options, out io.Writer) (bool, error) {
			return true, f(ctx, t, o, out)
		}
	}
	subs := []*cli.Command{
		{Name: "install", Summary: s.InstallSummary, Help: s.InstallHelp, Flags: installFlags, Run: run(done(Install))},
		{Name: "uninstall", Summary: "remove exactly what install added", Help: "Removes exactly what install added, flags first.",
			Flags: func(fs *cli.FlagSet) { s.Flags(fs); o.Flags.Add(fs.FlagSet, false) }, Run: run(done(Uninstall))},
		{Name: "status", Summary: s.StatusSummary, Help: s.StatusHelp, Flags: s.Flags, Run: run(Status)},
	}
	if s.NodeArchs {
		subs = append(subs, &cli.Command{Name: "node-archs", Hidden: true, Flags: installFlags, Run: run(done(NodeArchs))})
	}
	return &cli.Command{Name: s.Name, Summary: s.Summary, Help: s.Help, Subs: subs}
}

// Package minikube is `gcrcred minikube install|uninstall|status`, run on
// the host: it checks what a minikube profile needs (all at once), picks
// each node's binary, keeps gcrcred's files in minikube's file sync and its
// kubelet flags in the profile's saved extra-config (so restarts and added
// nodes keep them), and runs `gcrcred node install|uninstall|status` on
// every node through the minikube CLI (package minikubecli).
package minikube

import (
	"context"
	"io"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/hostinstall"
	"github.com/gcrcred/gcrcred/minikube/minikubecli"
	"github.com/gcrcred/gcrcred/node"
)

// options are the command line.
type options struct {
	hostinstall.Flags
	profile  string
	minikube string
	pod      node.PodIdentity
}

// CLI is `gcrcred minikube install|uninstall|status`.
func CLI() *cli.Command {
	var o options
	common := func(fs *cli.FlagSet) {
		fs.StringVar(&o.profile, "profile", "", "the minikube profile `NAME` (default: minikube's current one)")
		fs.Alias("p", "profile")
		fs.StringVar(&o.minikube, "minikube", "minikube", "the minikube `COMMAND`")
	}
	installFlags := func(fs *cli.FlagSet) {
		common(fs)
		o.Flags.Add(fs.FlagSet, true)
		fs.Group(node.PodIdentityTitle+`
With them install also lets the kubelets request those tokens (a ClusterRole
and ClusterRoleBinding applied with `+"`kubectl --context PROFILE`"+`, or printed
as the next step when kubectl is not on PATH); uninstall deletes them.`, func() { o.pod.AddFlags(fs.FlagSet) })
	}
	verbs := hostinstall.Verbs[options]{Install: install, Uninstall: uninstall, Status: status,
		Hidden: map[string]func(context.Context, options, io.Writer) error{"node-archs": nodeArchs}}
	run := func(c *cli.Call) int {
		for _, err := range []error{o.Flags.Check(c.Settings), o.pod.CheckFlags()} {
			if err != nil {
				return c.UsageError("%v", err)
			}
		}
		if o.profile == "" {
			o.profile = minikubecli.DefaultProfile()
		}
		return verbs.Run(c.Cmd.Path(), c.Cmd.Name, o, c.Stdout, c.Stderr)
	}
	return &cli.Command{
		Name:    "minikube",
		Summary: "set up every node of a minikube cluster",
		Help: `Sets up every node of a minikube profile through the minikube CLI on PATH;
kept across minikube stop/start and node add (file sync and the profile's
extra-config).`,
		Subs: []*cli.Command{{
			Name:    "install",
			Summary: "put gcrcred on every node of the profile",
			Help: `Puts gcrcred on every node of the profile: the binary (also as
docker-credential-gcrcred), the credentials this host uses, a kubelet
credential provider config and the kubelet flags, and Docker's credHelpers
for root and the docker user; kept across minikube stop/start and node add
(file sync and the profile's extra-config). It runs ` + "`gcrcred node install`" + `
on each node.`,
			Flags: installFlags,
			Run:   run,
		}, {
			Name:    "uninstall",
			Summary: "remove exactly what install added",
			Help:    "Removes exactly what install added, flags first.",
			Flags:   func(fs *cli.FlagSet) { common(fs); o.Flags.Add(fs.FlagSet, false) },
			Run:     run,
		}, {
			Name:    "status",
			Summary: "check the host and every node; exit 0 only if all is well",
			Help:    "Checks the host (file sync, extra-config) and every node; exit 0 only if all is well.",
			Flags:   common,
			Run:     run,
		}, {
			Name:   "node-archs",
			Hidden: true, // install.sh: which architectures to build; it passes install's flags
			Flags:  installFlags,
			Run:    run,
		}},
	}
}

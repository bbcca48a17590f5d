// Package kind is `gcrcred kind install|uninstall|status`, run on the host:
// it finds a kind cluster's nodes with the kind CLI, checks everything it
// needs at once (kind, docker, the cluster, credentials, a binary for each
// node's architecture), and runs `gcrcred node install|uninstall|status`
// on every node through docker (package kindcli), staging the binary and
// the files in a root-only directory there. A kind node is a container
// whose root file system outlives `docker restart` and host reboots, so
// what install writes stays; nodes of a cluster created again do not have
// it (the DaemonSet in deploy/ reaches those).
package kind

import (
	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/hostinstall"
	"github.com/gcrcred/gcrcred/kind/kindcli"
	"github.com/gcrcred/gcrcred/node"
)

// options are the command line.
type options struct {
	hostinstall.Flags
	name         string
	kind, docker string
	pod          node.PodIdentity
}

// CLI is `gcrcred kind install|uninstall|status`.
func CLI() *cli.Command {
	var o options
	common := func(fs *cli.FlagSet) {
		fs.StringVar(&o.name, "name", "", "the kind `CLUSTER` (default: $KIND_CLUSTER_NAME, else kind)")
		fs.StringVar(&o.kind, "kind", "kind", "the kind `COMMAND`")
		fs.StringVar(&o.docker, "docker", "docker", "the docker `COMMAND`")
	}
	verbs := hostinstall.Verbs[options]{Install: install, Uninstall: uninstall, Status: status}
	run := func(c *cli.Call) int {
		for _, err := range []error{o.Flags.Check(c.Settings), o.pod.CheckFlags()} {
			if err != nil {
				return c.UsageError("%v", err)
			}
		}
		if o.name == "" {
			o.name = kindcli.DefaultCluster(c.Settings.KindCluster)
		}
		return verbs.Run(c.Cmd.Path(), c.Cmd.Name, o, c.Stdout, c.Stderr)
	}
	return &cli.Command{
		Name:    "kind",
		Summary: "set up every node of a kind cluster",
		Help: `Sets up every node of a kind cluster through the kind and docker CLIs on
PATH. The nodes keep it across ` + "`docker restart`" + ` and reboots; a cluster
created again does not have it.`,
		Subs: []*cli.Command{{
			Name:    "install",
			Summary: "put gcrcred on every node of the cluster",
			Help: `Puts gcrcred on every node of the kind cluster (` + "`kind get nodes`" + `): the
binary (also as docker-credential-gcrcred), the credentials this host uses,
a kubelet credential provider config, and the two kubelet flags in
KUBELET_EXTRA_ARGS (/etc/default/kubelet), then restarts each kubelet. It
copies them into each node with ` + "`docker cp`" + ` and runs ` + "`gcrcred node install`" + `
there with ` + "`docker exec`" + `.`,
			Flags: func(fs *cli.FlagSet) {
				common(fs)
				o.Flags.Add(fs.FlagSet, true)
				fs.Group(node.PodIdentityTitle+`
With them install also lets the kubelets request those tokens (a ClusterRole
and ClusterRoleBinding applied with `+"`kubectl --context kind-CLUSTER`"+`, or
printed as the next step when kubectl is not on PATH); uninstall deletes them.`, func() { o.pod.AddFlags(fs.FlagSet) })
			},
			Run: run,
		}, {
			Name:    "uninstall",
			Summary: "remove exactly what install added",
			Help:    "Removes exactly what install added, flags first.",
			Flags:   func(fs *cli.FlagSet) { common(fs); o.Flags.Add(fs.FlagSet, false) },
			Run:     run,
		}, {
			Name:    "status",
			Summary: "check every node; exit 0 only if all is well",
			Help:    "Checks every node; exit 0 only if all is well.",
			Flags:   common,
			Run:     run,
		}},
	}
}

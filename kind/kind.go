// Package kind is `gcrcred kind install|uninstall|status`, run on the host:
// the host-side engine (internal/hostinstall) over a kind cluster, whose
// nodes kind/kindcli finds with the kind CLI and reaches with docker. A
// kind node is a container whose root file system outlives `docker
// restart` and host reboots, so what install writes stays; nodes of a
// cluster created again do not have it (the DaemonSet in deploy/ reaches
// those).
package kind

import (
	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/hostinstall"
	"github.com/gcrcred/gcrcred/internal/settings"
	"github.com/gcrcred/gcrcred/kind/kindcli"
)

// CLI is `gcrcred kind install|uninstall|status`.
func CLI() *cli.Command {
	t := &kindcli.Tool{}
	return hostinstall.Spec{
		Name:    "kind",
		Summary: "set up every node of a kind cluster",
		Help: `Sets up every node of a kind cluster through the kind and docker CLIs on
PATH. The nodes keep it across ` + "`docker restart`" + ` and reboots; a cluster
created again does not have it.`,
		InstallSummary: "put gcrcred on every node of the cluster",
		InstallHelp: `Puts gcrcred on every node of the kind cluster (` + "`kind get nodes`" + `): the
binary (also as docker-credential-gcrcred), the credentials this host uses,
a kubelet credential provider config, and the two kubelet flags in
KUBELET_EXTRA_ARGS (/etc/default/kubelet), then restarts each kubelet. It
copies them into each node with ` + "`docker cp`" + ` and runs ` + "`gcrcred node install`" + `
there with ` + "`docker exec`" + `.`,
		PodHelp: `With them install also lets the kubelets request those tokens (a ClusterRole
and ClusterRoleBinding applied with ` + "`kubectl --context kind-CLUSTER`" + `, or
printed as the next step when kubectl is not on PATH); uninstall deletes them.`,
		StatusSummary: "check every node; exit 0 only if all is well",
		StatusHelp:    "Checks every node; exit 0 only if all is well.",
		Flags: func(fs *cli.FlagSet) {
			fs.StringVar(&t.CLI.Cluster, "name", "", "the kind `CLUSTER` (default: $KIND_CLUSTER_NAME, else kind)")
			fs.StringVar(&t.KindCommand, "kind", "kind", "the kind `COMMAND`")
			fs.StringVar(&t.DockerCommand, "docker", "docker", "the docker `COMMAND`")
		},
		Tool: func(s settings.Settings) hostinstall.ClusterTool {
			if t.CLI.Cluster == "" {
				t.CLI.Cluster = kindcli.DefaultCluster(s.KindCluster)
			}
			return t
		},
	}.Command()
}

// Package minikube is `gcrcred minikube install|uninstall|status`, run on
// the host: the host-side engine (internal/hostinstall) over a minikube
// profile, whose nodes minikube/minikubecli lists and reaches with the
// minikube CLI and whose file sync and saved extra-config it keeps
// gcrcred's files and kubelet flags in (so restarts and added nodes keep
// them). install.sh builds the node binaries and runs it.
package minikube

import (
	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/hostinstall"
	"github.com/gcrcred/gcrcred/internal/settings"
	"github.com/gcrcred/gcrcred/minikube/minikubecli"
)

// CLI is `gcrcred minikube install|uninstall|status`.
func CLI() *cli.Command {
	t := &minikubecli.Tool{}
	return hostinstall.Spec{
		Name:    "minikube",
		Summary: "set up every node of a minikube cluster",
		Help: `Sets up every node of a minikube profile through the minikube CLI on PATH;
kept across minikube stop/start and node add (file sync and the profile's
extra-config).`,
		InstallSummary: "put gcrcred on every node of the profile",
		InstallHelp: `Puts gcrcred on every node of the profile: the binary (also as
docker-credential-gcrcred), the credentials this host uses, a kubelet
credential provider config and the kubelet flags, and Docker's credHelpers
for root and the docker user; kept across minikube stop/start and node add
(file sync and the profile's extra-config). It runs ` + "`gcrcred node install`" + `
on each node.`,
		PodHelp: `With them install also lets the kubelets request those tokens (a ClusterRole
and ClusterRoleBinding applied with ` + "`kubectl --context PROFILE`" + `, or printed
as the next step when kubectl is not on PATH); uninstall deletes them.`,
		StatusSummary: "check the host and every node; exit 0 only if all is well",
		StatusHelp:    "Checks the host (file sync, extra-config) and every node; exit 0 only if all is well.",
		Flags: func(fs *cli.FlagSet) {
			fs.StringVar(&t.Profile, "profile", "", "the minikube profile `NAME` (default: minikube's current one)")
			fs.Alias("p", "profile")
			fs.StringVar(&t.MinikubeCommand, "minikube", "minikube", "the minikube `COMMAND`")
		},
		Tool: func(s settings.Settings) hostinstall.ClusterTool {
			t.Home, t.HomeVar = minikubecli.HomeOf(s.MinikubeHome, s.Home), s.MinikubeHome
			if t.Profile == "" {
				t.Profile = t.Home.DefaultProfile(s.MinikubeProfile)
			}
			return t
		},
		NodeArchs: true,
	}.Command()
}

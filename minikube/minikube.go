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

const help = `Usage:
  gcrcred minikube install   [-p PROFILE] [--credentials FILE] [--dist DIR] [--registries R,...] [--dry-run]
                             [--workload-identity FILE --service-account-audience AUD [--pod-identity annotated|all]
                              [--subject-mapping EXPR] [--require-service-account] [--allow-shared-image-cache]]
  gcrcred minikube uninstall [-p PROFILE] [--dry-run]
  gcrcred minikube status    [-p PROFILE]

install    puts gcrcred on every node of the profile: the binary (also as
           docker-credential-gcrcred), the credentials this host uses, a kubelet
           credential provider config and the kubelet flags, and Docker's
           credHelpers for root and the docker user; kept across minikube
           stop/start and node add (file sync and the profile's extra-config).
           It runs ` + "`gcrcred node install`" + ` on each node.
uninstall  removes exactly what install added.
status     checks the host and every node; exit 0 only if all is well.

Flags:
  -p, --profile NAME     the minikube profile (default: minikube's current one)
  --credentials FILE     credentials to copy to the nodes (default: what gcrcred
                         uses on this host: see ` + "`gcrcred doctor`" + `)
  --minikube CMD         the minikube command (default: minikube)
` + hostinstall.FlagsHelp + `
` + node.PodIdentityHelp + `  With them install also lets the kubelets request those tokens (a ClusterRole and
  ClusterRoleBinding applied with ` + "`kubectl --context PROFILE`" + `, or printed as the next step
  when kubectl is not on PATH); uninstall deletes them.
`

// options are the command line.
type options struct {
	hostinstall.Flags
	profile  string
	minikube string
	pod      node.PodIdentity
}

// Run is `gcrcred minikube install|uninstall|status`.
func Run(args []string, stdout, stderr io.Writer) int {
	verb, args, ok, code := cli.Verb("gcrcred minikube", help, args, []string{"install", "uninstall", "status"}, []string{"node-archs"}, stdout, stderr)
	if !ok {
		return code
	}
	name := "gcrcred minikube " + verb
	c := cli.New(name, help, 0)
	var o options
	c.Flags.StringVar(&o.profile, "p", "", "")
	c.Flags.StringVar(&o.profile, "profile", "", "")
	c.Flags.StringVar(&o.minikube, "minikube", "minikube", "")
	// install.sh passes install's flags to node-archs.
	if ok, code := o.Parse(c, args, verb == "install" || verb == "node-archs", &o.pod, stdout, stderr); !ok {
		return code
	}
	if o.profile == "" {
		o.profile = minikubecli.DefaultProfile()
	}
	verbs := hostinstall.Verbs[options]{Install: install, Uninstall: uninstall, Status: status,
		Hidden: map[string]func(context.Context, options, io.Writer) error{"node-archs": nodeArchs}}
	return verbs.Run(name, verb, o, stdout, stderr)
}

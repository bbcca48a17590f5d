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
	"io"
	"os"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/hostinstall"
	"github.com/gcrcred/gcrcred/kind/kindcli"
	"github.com/gcrcred/gcrcred/node"
)

const help = `Usage:
  gcrcred kind install   [--name CLUSTER] [--credentials FILE] [--dist DIR] [--registries R,...] [--dry-run]
                         [--workload-identity FILE --service-account-audience AUD [--pod-identity annotated|all]
                          [--subject-mapping EXPR] [--require-service-account] [--allow-shared-image-cache]]
  gcrcred kind uninstall [--name CLUSTER] [--dry-run]
  gcrcred kind status    [--name CLUSTER]

install    puts gcrcred on every node of the kind cluster (` + "`kind get nodes`" + `): the
           binary (also as docker-credential-gcrcred), the credentials this host
           uses, a kubelet credential provider config, and the two kubelet flags in
           KUBELET_EXTRA_ARGS (/etc/default/kubelet), then restarts each kubelet.
           It copies them into each node with ` + "`docker cp`" + ` and runs
           ` + "`gcrcred node install`" + ` there with ` + "`docker exec`" + `. The nodes keep it across
           ` + "`docker restart`" + ` and reboots; a cluster created again does not have it.
uninstall  removes exactly what install added.
status     checks every node; exit 0 only if all is well.

Flags:
  --name CLUSTER         the kind cluster (default: $KIND_CLUSTER_NAME, else kind)
  --credentials FILE     credentials to copy to the nodes (default: what gcrcred
                         uses on this host: see ` + "`gcrcred doctor`" + `)
  --kind CMD             the kind command (default: kind)
  --docker CMD           the docker command (default: docker)
` + hostinstall.FlagsHelp + `
` + node.PodIdentityHelp + `  With them install also lets the kubelets request those tokens (a ClusterRole and
  ClusterRoleBinding applied with ` + "`kubectl --context kind-CLUSTER`" + `, or printed as the
  next step when kubectl is not on PATH); uninstall deletes them.
`

// options are the command line.
type options struct {
	hostinstall.Flags
	name         string
	kind, docker string
	pod          node.PodIdentity
}

// Run is `gcrcred kind install|uninstall|status`.
func Run(args []string, stdout, stderr io.Writer) int {
	verb, args, ok, code := cli.Verb("gcrcred kind", help, args, []string{"install", "uninstall", "status"}, nil, stdout, stderr)
	if !ok {
		return code
	}
	name := "gcrcred kind " + verb
	c := cli.New(name, help, 0)
	var o options
	c.Flags.StringVar(&o.name, "name", kindcli.DefaultCluster(os.Getenv), "")
	c.Flags.StringVar(&o.kind, "kind", "kind", "")
	c.Flags.StringVar(&o.docker, "docker", "docker", "")
	if ok, code := o.Parse(c, args, verb == "install", &o.pod, stdout, stderr); !ok {
		return code
	}
	return hostinstall.Verbs[options]{Install: install, Uninstall: uninstall, Status: status}.Run(name, verb, o, stdout, stderr)
}

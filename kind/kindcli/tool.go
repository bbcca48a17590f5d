package kindcli

import (
	"context"
	"fmt"
	"io"
	"os/exec"

	"github.com/gcrcred/gcrcred/internal/hostinstall"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
)

// Tool is a kind cluster as the host-side engine reaches it: its nodes
// are Docker containers, listed by `kind get nodes` and reached with
// `docker exec` and `docker cp`. A kind node's root file system outlives
// `docker restart` and host reboots, so what install writes stays; the
// nodes of a cluster created again do not have it.
type Tool struct {
	CLI
	// KindCommand and DockerCommand are the commands to look up on PATH.
	KindCommand, DockerCommand string
}

// Name is the tool's name in messages.
func (t *Tool) Name() string { return "kind" }

// Cluster names the cluster in messages.
func (t *Tool) Cluster() string { return fmt.Sprintf("kind cluster %q", t.CLI.Cluster) }

// Command is `gcrcred kind VERB --name CLUSTER`.
func (t *Tool) Command(verb string) string {
	return "gcrcred kind " + verb + " --name " + t.CLI.Cluster
}

// KubectlContext is the context kind writes for the cluster.
func (t *Tool) KubectlContext() string { return t.Context() }

// Check finds kind and docker on PATH.
func (t *Tool) Check(_ context.Context, c *hostinstall.Cluster, _ bool) bool {
	var err error
	if t.Kind, err = exec.LookPath(t.KindCommand); err != nil {
		c.Problems.Add("%s is not on PATH: install kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation) or pass --kind PATH", t.KindCommand)
	}
	if t.Docker, err = exec.LookPath(t.DockerCommand); err != nil {
		c.Problems.Add("%s is not on PATH: kind's nodes are Docker containers, reached with `docker exec` and `docker cp`: install Docker (https://docs.docker.com/engine/install/) or pass --docker PATH", t.DockerCommand)
	}
	return t.Kind != "" && t.Docker != ""
}

// NodeNames are the cluster's nodes; none means no such cluster.
func (t *Tool) NodeNames(ctx context.Context) ([]string, error) {
	names, err := t.CLI.NodeNames(ctx)
	if err == nil && len(names) == 0 {
		name := t.CLI.Cluster
		return nil, fmt.Errorf("kind cluster %q not found (`kind get nodes --name %s` lists no nodes): `kind get clusters` shows the clusters; pass --name NAME (or set KIND_CLUSTER_NAME), or create it with `kind create cluster --name %s`", name, name, name)
	}
	return names, err
}

// Node is one node, a container.
func (t *Tool) Node(name string) hostinstall.Node { return t.CLI.Node(name) }

// Nodes: kind's nodes are kubeadm's, their flags in KUBELET_EXTRA_ARGS.
func (t *Tool) Nodes() hostinstall.NodeKind {
	return hostinstall.NodeKind{Flavour: nodelayout.FlavourKind, FlagsWhere: "in KUBELET_EXTRA_ARGS (/etc/default/kubelet)"}
}

// Installed says how to check the install, and what keeps it.
func (t *Tool) Installed(out io.Writer) {
	fmt.Fprintf(out, "  Check with `%s`. The nodes keep it across `docker restart` and reboots; a cluster created again with `kind create cluster` does not have it: run this again, or install with the DaemonSet (deploy/), which reaches every node.\n", t.Command("status"))
}

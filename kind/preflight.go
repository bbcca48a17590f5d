package kind

import (
	"context"
	"fmt"
	"os/exec"

	"github.com/gcrcred/gcrcred/internal/hostinstall"
	"github.com/gcrcred/gcrcred/kind/kindcli"
	"github.com/gcrcred/gcrcred/node"
)

// cluster is what preflight found: the cluster's nodes, the binaries and
// credentials they get, and everything missing, each with its fix.
type cluster struct {
	hostinstall.Cluster
	o   options
	cli *kindcli.CLI
}

// preflight checks everything a command needs, all of it (a missing thing
// does not hide the next one): kind and docker, the cluster and each
// node's architecture; for install also the credentials, the workload
// identity configuration and a binary for each architecture.
func preflight(ctx context.Context, o options, forInstall bool) *cluster {
	c := &cluster{o: o, Cluster: hostinstall.Cluster{Name: fmt.Sprintf("kind cluster %q", o.name)}}
	c.cli = &kindcli.CLI{Cluster: o.name}
	if forInstall {
		c.FindFiles(o.Host, o.pod, "kind")
	}
	var err error
	if c.cli.Kind, err = exec.LookPath(o.kind); err != nil {
		c.Problems.Add("%s is not on PATH: install kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation) or pass --kind PATH", o.kind)
	}
	if c.cli.Docker, err = exec.LookPath(o.docker); err != nil {
		c.Problems.Add("%s is not on PATH: kind's nodes are Docker containers, reached with `docker exec` and `docker cp`: install Docker (https://docs.docker.com/engine/install/) or pass --docker PATH", o.docker)
	}
	if c.cli.Kind == "" || c.cli.Docker == "" {
		return c
	}
	names, err := c.cli.NodeNames(ctx)
	switch {
	case err != nil:
		c.Problems.Add("%v", err)
		return c
	case len(names) == 0:
		c.Problems.Add("kind cluster %q not found (`kind get nodes --name %s` lists no nodes): `kind get clusters` shows the clusters; pass --name NAME (or set KIND_CLUSTER_NAME), or create it with `kind create cluster --name %s`", o.name, o.name, o.name)
		return c
	}
	c.AddNodes(ctx, names, func(name string) hostinstall.Node { return c.cli.Node(name) })
	if forInstall {
		c.FindBinaries(o.Dist)
	}
	return c
}

// hostOptions are what every node gets (binary: the node's).
func (c *cluster) hostOptions(binary string) node.HostOptions {
	return node.HostOptions{
		Flavour: node.FlavourKind, Binary: binary, Credentials: c.CredentialsPath(), Registries: c.o.Registries,
		Pod: c.o.pod, Settle: c.o.Settle, DryRun: c.o.DryRun,
	}
}

// rbac is the API server's side of per-pod identity, through the context
// kind writes for the cluster.
func (c *cluster) rbac() hostinstall.RBAC {
	return hostinstall.NewRBAC(c.cli.Context(), c.o.pod.Audience)
}

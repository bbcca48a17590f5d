package hostinstall

import (
	"context"
	"io"

	"github.com/gcrcred/gcrcred/internal/podinstall"
)

// ClusterTool is a cluster's CLI as the engine (engine.go) uses it: it
// lists the cluster's nodes and reaches each one (Node: exec and copy).
// minikube (minikube/minikubecli) and kind (kind/kindcli) implement it;
// another tool (k3d, say) is another implementation, and its command line
// another Spec.
type ClusterTool interface {
	// Name is the tool's name in messages: "minikube".
	Name() string
	// Cluster names the cluster in messages: `kind cluster "ci"`.
	Cluster() string
	// Command is the installer's command line for a verb on this cluster,
	// for "rerun": "gcrcred kind install --name ci".
	Command(verb string) string
	// Check adds to c what the tool lacks to reach the cluster (its CLI not
	// on PATH, no such cluster, a cluster not running), each with its fix,
	// and notes for install; ok is false when the nodes cannot be listed.
	Check(ctx context.Context, c *Cluster, forInstall bool) (ok bool)
	// NodeNames lists the cluster's nodes (an error says why there are none).
	NodeNames(ctx context.Context) ([]string, error)
	// Node reaches one node.
	Node(name string) Node
	// KubectlContext is the cluster's context in kubectl's config.
	KubectlContext() string
	// Nodes says what `node install` finds on the tool's nodes.
	Nodes() NodeKind
	// Installed says, after an install, how to check it and what keeps it.
	Installed(out io.Writer)
}

// NodeKind is what `node install` finds and does on a tool's nodes.
type NodeKind struct {
	Flavour     string   // the set-up: nodelayout.FlavourMinikube, FlavourKind
	DockerUsers []string // whose Docker is pointed at gcrcred
	FlagsWhere  string   // for plans: where the kubelet flags go
}

// Keeper is a tool that keeps on the host what its nodes get, so that a
// restarted or an added node gets it too (minikube: its file sync and the
// profile's saved extra-config). Its steps go around the nodes': files
// before them and flags after on install, the other way round on
// uninstall.
type Keeper interface {
	// CheckNodes adds what install needs of the listed nodes.
	CheckNodes(ctx context.Context, c *Cluster)
	// KeptIn says where else the nodes' files are kept, for plans.
	KeptIn() string
	// PlanKeep prints the plan's lines for the host.
	PlanKeep(out io.Writer)
	// Keep are install's steps before and after the nodes'.
	Keep(files []NodeFile) (before, after []Step)
	// Unkeep are uninstall's steps before and after the nodes'; what it
	// would do, or leaves, it says on out.
	Unkeep(out io.Writer, dryRun bool) (before, after []Step)
	// CheckHost and CheckNode are status's checks of the host and of one
	// node.
	CheckHost(r *Report)
	CheckNode(ctx context.Context, n Node, r *Report)
}

// Options are what every host-side installer's command line takes.
type Options struct {
	Flags
	Pod podinstall.PodIdentity
}

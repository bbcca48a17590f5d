// Package kindcli is gcrcred's adapter for the kind and docker CLIs: it
// lists a kind cluster's nodes (`kind get nodes --name`), and makes each
// node a nodeexec.Node whose argv runs with `docker exec --privileged` (as
// kind's own node commands do; no shell reads it) and whose files are
// copied in with `docker cp -L`. Tool is a cluster as the host-side
// engine's ClusterTool.
package kindcli

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/nodeexec"
)

// Timeouts for one call: copying the binary and `node install` (which
// restarts the kubelet and watches it settle) are the slowest.
const (
	listTimeout = time.Minute
	execTimeout = 5 * time.Minute
)

// CLI runs kind and docker for one kind cluster.
type CLI struct {
	Kind, Docker string // the executables
	Cluster      string
}

// DefaultCluster is the cluster kind uses without --name:
// KIND_CLUSTER_NAME (env, from settings), else "kind".
func DefaultCluster(env string) string {
	if env != "" {
		return env
	}
	return "kind"
}

// Context is the kubectl context kind writes for the cluster.
func (k *CLI) Context() string { return "kind-" + k.Cluster }

// NodeNames are the cluster's nodes (`kind get nodes --name CLUSTER`);
// none when there is no such cluster (kind says so on stderr and exits 0).
func (k *CLI) NodeNames(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	var out, stderr strings.Builder
	cmd := exec.CommandContext(ctx, k.Kind, "get", "nodes", "--name", k.Cluster)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("`kind get nodes --name %s` failed (%v): %s", k.Cluster, err, strings.Join(strings.Fields(stderr.String()), " "))
	}
	var names []string
	for _, l := range strings.Split(out.String(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			names = append(names, l)
		}
	}
	return names, nil
}

// Node is one node of the cluster: a container.
type Node struct {
	k    *CLI
	name string
}

// Node is the named node.
func (k *CLI) Node(name string) *Node { return &Node{k: k, name: name} }

// Name is the node's (container's) name.
func (n *Node) Name() string { return n.name }

// Command runs argv in the node as root with `docker exec`.
func (n *Node) Command(ctx context.Context, name string, args ...string) nodeexec.Cmd {
	return &nodeexec.Argv{Ctx: ctx, Args: append([]string{name}, args...), Exec: n.exec}
}

// CopyFile copies a host file (links followed) to an absolute node path,
// root's, keeping the file's mode: callers copy secrets only into a
// root-only directory.
func (n *Node) CopyFile(ctx context.Context, hostPath, nodePath string) error {
	return n.k.docker(ctx, nil, nil, nil, "cp", "-L", hostPath, n.name+":"+nodePath)
}

// docker runs the docker CLI; a failure carries what it said on stderr.
func (k *CLI) docker(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, execTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.Docker, args...)
	var errs strings.Builder
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, &errs
	if stderr != nil {
		cmd.Stderr = io.MultiWriter(&errs, stderr)
	}
	err := cmd.Run()
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("`docker %s` had no answer within %s", strings.Join(args, " "), execTimeout)
	case stderr != nil:
		return err // the caller has stderr
	}
	return fmt.Errorf("`docker %s` failed (%v): %s", strings.Join(args, " "), err, strings.Join(strings.Fields(errs.String()), " "))
}

func (n *Node) exec(c *nodeexec.Argv) error {
	args := []string{"exec", "--privileged"}
	if c.Stdin != nil {
		args = append(args, "-i")
	}
	args = append(append(args, n.name), c.Args...)
	return n.k.docker(c.Ctx, c.Stdin, c.Stdout, c.Stderr, args...)
}

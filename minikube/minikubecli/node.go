package minikubecli

import (
	"context"
	"io"
	"strings"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/nodeexec"
)

// Node is one node of the profile, reached with `minikube ssh` and `minikube cp`.
type Node struct {
	m    *CLI
	name string
}

// Node is the named node of the profile.
func (m *CLI) Node(name string) *Node { return &Node{m: m, name: name} }

// Name is the node's name (PROFILE, PROFILE-m02, ...).
func (n *Node) Name() string { return n.name }

// Command runs argv on the node as root: `minikube ssh` logs in as the
// docker user, which has passwordless sudo. minikube joins the words after
// "--" and hands them to the login shell, so this is the one place where
// argv becomes a shell string: each word quoted, nothing else.
func (n *Node) Command(ctx context.Context, name string, args ...string) nodeexec.Cmd {
	return &nodeexec.Argv{Ctx: ctx, Args: append([]string{name}, args...), Exec: n.ssh}
}

// CopyFile copies a host file to an absolute node path. Like `minikube cp`,
// the node file may end up world-readable (0644): callers copy secrets only
// into a root-only directory.
func (n *Node) CopyFile(ctx context.Context, hostPath, nodePath string) error {
	return n.m.run(ctx, cpTimeout, nil, nil, "cp", hostPath, n.name+":"+nodePath)
}

func (n *Node) ssh(c *nodeexec.Argv) error {
	out := &crlf{w: c.Stdout}
	err := n.m.run(c.Ctx, sshTimeout, c.Stdin, out, "ssh", "-n", n.name, "--", "sudo "+cli.ShellJoin(c.Args))
	if me, ok := err.(*Error); ok && c.Stderr != nil {
		io.WriteString(c.Stderr, me.Stderr)
	}
	return err
}

// crlf drops the carriage returns an ssh pty adds.
type crlf struct{ w io.Writer }

func (c *crlf) Write(p []byte) (int, error) {
	if c.w == nil {
		return len(p), nil
	}
	_, err := c.w.Write([]byte(strings.ReplaceAll(string(p), "\r", "")))
	return len(p), err
}

// Package nodeexec reaches a Kubernetes node from outside it: a tiny Node
// (argv in, stdin, stdout and stderr, as kind's nodes.Node), plain functions
// over it, Argv (the Cmd of adapters that hand argv on, such as `minikube
// ssh` and `docker exec`), and Root, a node's file system mounted on this
// machine (a chroot, or the host's / at /host in a pod), whose commands run
// chrooted into it. No shell ever reads an argv here.
package nodeexec

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/gcrcred/gcrcred/internal/noderoot"
)

// Node runs commands on one node, as root.
type Node interface {
	// Command prepares name with args; nothing runs before Run.
	Command(ctx context.Context, name string, args ...string) Cmd
}

// Cmd is one prepared command.
type Cmd interface {
	SetStdin(io.Reader) Cmd
	SetStdout(io.Writer) Cmd
	SetStderr(io.Writer) Cmd
	// SetEnv replaces the environment (KEY=VALUE pairs).
	SetEnv(env ...string) Cmd
	Run() error
}

// Error is a command that failed, with the end of what it wrote to stderr.
type Error struct {
	Argv   []string
	Err    error
	Stderr string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("`%s` failed (%v)", strings.Join(e.Argv, " "), e.Err)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + lastLines(s, 3)
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// lastLines keeps the last n lines of s, joined with "; " (an error is one line).
func lastLines(s string, n int) string {
	ls := strings.Split(s, "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "; ")
}

// Output runs argv on n and returns its stdout; a failure carries stderr.
func Output(ctx context.Context, n Node, name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	err := n.Command(ctx, name, args...).SetStdout(&stdout).SetStderr(&stderr).Run()
	if err != nil {
		return stdout.String(), &Error{Argv: append([]string{name}, args...), Err: err, Stderr: stderr.String()}
	}
	return stdout.String(), nil
}

// Run runs argv on n; a failure carries stderr.
func Run(ctx context.Context, n Node, name string, args ...string) error {
	_, err := Output(ctx, n, name, args...)
	return err
}

// DefaultPath is where commands are looked for on a node, as sudo's secure_path.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Root runs commands in a node's file system at Dir on this machine
// ("/": this machine's own), chrooted into it; its files are read and
// written through internal/noderoot, never here.
type Root struct{ Dir string }

// IsHost reports whether the root is this machine's own /.
func (r Root) IsHost() bool { return r.Dir == "" || filepath.Clean(r.Dir) == "/" }

// LookPath finds a command in the node's DefaultPath and returns its node
// path; the node's own directories are looked in without following a link
// (the chrooted kernel resolves the command itself when it runs).
func (r Root) LookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	dir := r.Dir
	if dir == "" {
		dir = "/"
	}
	root, err := noderoot.Open(dir)
	if err != nil {
		return "", err
	}
	defer root.Close()
	for _, d := range filepath.SplitList(DefaultPath) {
		if info, err := root.Lstat(path.Join(d, name)); err == nil && !info.IsDir() {
			return path.Join(d, name), nil
		}
	}
	return "", fmt.Errorf("%s: not found on the node (looked in %s)", name, DefaultPath)
}

// Command runs argv inside the root: chrooted into it unless it is this
// machine's /, in "/", with only PATH set unless SetEnv says otherwise.
func (r Root) Command(ctx context.Context, name string, args ...string) Cmd {
	c := &rootCmd{}
	p, err := r.LookPath(name)
	if err != nil {
		c.err = err
		return c
	}
	c.cmd = exec.CommandContext(ctx, p, args...)
	c.cmd.Args[0] = name
	c.cmd.Dir = "/"
	c.cmd.Env = []string{"PATH=" + DefaultPath}
	if !r.IsHost() {
		c.cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: r.Dir}
	}
	return c
}

type rootCmd struct {
	cmd *exec.Cmd
	err error
}

func (c *rootCmd) SetStdin(in io.Reader) Cmd {
	if c.cmd != nil {
		c.cmd.Stdin = in
	}
	return c
}

func (c *rootCmd) SetStdout(w io.Writer) Cmd {
	if c.cmd != nil {
		c.cmd.Stdout = w
	}
	return c
}

func (c *rootCmd) SetStderr(w io.Writer) Cmd {
	if c.cmd != nil {
		c.cmd.Stderr = w
	}
	return c
}

func (c *rootCmd) SetEnv(env ...string) Cmd {
	if c.cmd != nil {
		c.cmd.Env = env
	}
	return c
}

func (c *rootCmd) Run() error {
	if c.err != nil {
		return c.err
	}
	return c.cmd.Run()
}

// Argv is a Cmd for an adapter that hands argv and the streams on to
// another program (`minikube ssh`, `docker exec`): it collects them, and
// Run calls Exec with them.
type Argv struct {
	Ctx            context.Context
	Args           []string // the command; SetEnv puts `env -i KEY=VALUE...` before it
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Exec           func(a *Argv) error
}

func (a *Argv) SetStdin(r io.Reader) Cmd  { a.Stdin = r; return a }
func (a *Argv) SetStdout(w io.Writer) Cmd { a.Stdout = w; return a }
func (a *Argv) SetStderr(w io.Writer) Cmd { a.Stderr = w; return a }

// SetEnv replaces the environment through env(1) on the node.
func (a *Argv) SetEnv(env ...string) Cmd {
	a.Args = append(append([]string{"env", "-i"}, env...), a.Args...)
	return a
}

func (a *Argv) Run() error { return a.Exec(a) }

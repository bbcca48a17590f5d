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
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/internal/smallfile"
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
// path. It runs as root: the first one found (as sudo's secure_path
// would) must be a regular file that root alone can change, in
// directories root alone can change, or it is refused, named, rather than
// run or passed over. The node's directories are looked in without
// following a link, but for merged /usr's own (/bin/systemctl is looked
// for as /usr/bin/systemctl); a directory on the path that is another
// link is not looked in. Once every component is root's alone, no other
// user can change what the chrooted kernel resolves the path to when it
// runs it.
func (r Root) LookPath(name string) (string, error) {
	dir := r.Dir
	if dir == "" {
		dir = "/"
	}
	root, err := noderoot.Open(dir)
	if err != nil {
		return "", err
	}
	defer root.Close()
	candidates := []string{name}
	if !strings.Contains(name, "/") {
		candidates = nil
		for _, d := range filepath.SplitList(DefaultPath) {
			candidates = append(candidates, path.Join(d, name))
		}
	}
	for _, p := range candidates {
		p = root.UsrMerged(p)
		info, err := root.Lstat(p)
		var link *noderoot.LinkError
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case errors.As(err, &link) && link.Path != p:
			continue // a linked directory: not looked in
		case err != nil:
			return "", fmt.Errorf("looking for %s on the node: %w", name, err)
		case info.IsDir():
			continue
		}
		return p, runnable(root, p, info)
	}
	return "", fmt.Errorf("%s: %w (looked in %s)", name, ErrNotFound, DefaultPath)
}

// ErrNotFound is a command the node does not have.
var ErrNotFound = errors.New("not found on the node")

// runnable refuses to run as root a program found at p that is not a
// regular file root alone can change, in directories root alone can change.
func runnable(root *noderoot.Root, p string, info noderoot.Info) error {
	var why error
	switch {
	case info.Mode&fs.ModeSymlink != 0:
		why = fmt.Errorf("%s is a symbolic link: gcrcred runs as root only a regular file that root alone can change; replace the link with the program it points to, or remove it", p)
	case !info.IsRegular():
		why = fmt.Errorf("%s is %s, not a program: move it away", p, smallfile.TypeName(info.Mode))
	default:
		why = root.CheckPath(p)
	}
	if why != nil {
		return fmt.Errorf("not running the node's %s as root: %w", path.Base(p), why)
	}
	return nil
}

// Command runs argv inside the root: chrooted into it unless it is this
// machine's /, in "/", with only PATH set.
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
	Args           []string // the command
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Exec           func(a *Argv) error
}

func (a *Argv) SetStdin(r io.Reader) Cmd  { a.Stdin = r; return a }
func (a *Argv) SetStdout(w io.Writer) Cmd { a.Stdout = w; return a }
func (a *Argv) SetStderr(w io.Writer) Cmd { a.Stderr = w; return a }

func (a *Argv) Run() error { return a.Exec(a) }

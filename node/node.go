// Package node is `gcrcred node install|uninstall|status`: the installer
// that runs on one node (or in a pod with the node's / at --root). It finds
// how the node's kubelet is configured (package flavour: minikube, kubeadm,
// kind, k3s, rke2, or a kubelet that already has a provider config), puts
// gcrcred's binary, credentials and provider config where that kubelet
// looks, adds its flags where they live, restarts it through the service
// manager and rolls back if it does not stay up (package engine);
// uninstall undoes exactly that from a record; status checks it all
// (package status). This package is the command line; the minikube and
// kind installers and the DaemonSet run it on every node.
package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/internal/podinstall"
	"github.com/gcrcred/gcrcred/internal/registries"
	"github.com/gcrcred/gcrcred/internal/settings"
	"github.com/gcrcred/gcrcred/node/internal/engine"
	"github.com/gcrcred/gcrcred/node/internal/status"
)

// command is the command line, shared by the verbs.
type command struct {
	root  string
	o     engine.Options
	regs  cli.OptionalString
	users string
}

// CLI is `gcrcred node install|uninstall|status|wait` (and the hidden
// boot and sha256 that installs run on nodes).
func CLI() *cli.Command {
	c := &command{}
	return &cli.Command{
		Name:    "node",
		Summary: "set up this node's kubelet (as root on the node, or in a pod with its / at --root)",
		Help:    `Run as root on a node, or in a pod with the node's / mounted at --root.`,
		Subs:    []*cli.Command{c.install(), c.uninstall(), c.status(), waitCommand(), c.boot(), c.sha256()},
	}
}

func (c *command) rootFlag(fs *cli.FlagSet) {
	fs.StringVar(&c.root, "root", "/", "the node's file system, a `DIR` (in a pod: where the node's / is mounted)")
}

func (c *command) settleFlags(fs *cli.FlagSet) {
	fs.DurationVar(&c.o.Settle, "kubelet-settle", 3*time.Second, "how long a restarted kubelet must stay up, a `DURATION`")
	fs.BoolVar(&c.o.DryRun, "dry-run", false, "print every file, flag and restart it would change; change nothing")
}

func (c *command) dockerUsersFlag(fs *cli.FlagSet) {
	fs.StringVar(&c.users, "docker-users", "", "point these `USERS`' Docker at gcrcred (credHelpers), comma-separated")
}

func (c *command) install() *cli.Command {
	return &cli.Command{
		Name:    "install",
		Summary: "put gcrcred where this node's kubelet looks, add its flags, restart it",
		Help: `Finds how the kubelet is set up and says so in one line, then puts the
binary, the credentials and a kubelet credential provider config where that
kubelet looks, adds the two kubelet flags where its flags live, and
restarts it. Files first, flags last; a kubelet that does not stay up gets
its old files and flags back. A rerun changes nothing and says "unchanged",
unless something differs.
  minikube         flags on the ExecStart of minikube's kubelet drop-in
  kubeadm, kind    flags in KUBELET_EXTRA_ARGS (/etc/default/kubelet or
                   /etc/sysconfig/kubelet)
  k3s, rke2        files at /var/lib/rancher/credentialprovider (no flags)
  provider-config  a kubelet already run with --image-credential-provider-config:
                   gcrcred's provider added to that config, binary into its bin dir`,
		Flags: func(fs *cli.FlagSet) {
			c.rootFlag(fs)
			c.settleFlags(fs)
			c.dockerUsersFlag(fs)
			fs.StringVar(&c.o.Credentials, "credentials", "", "credentials `FILE` to install (a file on this machine, not under --root); without it the node's "+nodelayout.Credentials+" is kept")
			fs.Var(&c.regs, "registries", "extra registry hosts or `PATTERNS`, comma-separated (default: $GCRCRED_REGISTRIES)")
			fs.StringVar(&c.o.Binary, "binary", "", "the gcrcred `FILE` to install (default: this one)")
			fs.Group(podinstall.Title+`
The API server must let kubelets request tokens for the audience (RBAC verb
request-serviceaccounts-token-audience for group system:nodes:
deploy/workload-identity).`, func() { c.o.Pod.AddFlags(fs.FlagSet) })
		},
		Run: c.verb(func(ctx context.Context, r *noderoot.Root, call *cli.Call) (bool, error) {
			return true, engine.Install(ctx, r, c.o, call.Stdout)
		}),
	}
}

func (c *command) uninstall() *cli.Command {
	return &cli.Command{
		Name:    "uninstall",
		Summary: "undo exactly what install did (flags first, then files)",
		Help:    "Undoes exactly what install did (flags first, then files), from the record install keeps in " + nodelayout.RecordFile + ".",
		Flags:   func(fs *cli.FlagSet) { c.rootFlag(fs); c.settleFlags(fs) },
		Run: c.verb(func(ctx context.Context, r *noderoot.Root, call *cli.Call) (bool, error) {
			return true, engine.Uninstall(ctx, r, c.o, call.Stdout)
		}),
	}
}

func (c *command) status() *cli.Command {
	return &cli.Command{
		Name:    "status",
		Summary: "check the node, read-only; exit 0 only if all is well",
		Help:    "Checks the node, read-only (also as a user other than root); exit 0 only if all is well.",
		Flags:   c.rootFlag,
		Run: c.verb(func(_ context.Context, r *noderoot.Root, call *cli.Call) (bool, error) {
			return status.Check(r, call.Stdout), nil
		}),
	}
}

func (c *command) boot() *cli.Command {
	return &cli.Command{
		Name:   "boot",
		Hidden: true, // the ExecStartPre of minikube's kubelet drop-in
		Flags:  func(fs *cli.FlagSet) { c.rootFlag(fs); c.dockerUsersFlag(fs) },
		Run: c.verb(func(_ context.Context, r *noderoot.Root, call *cli.Call) (bool, error) {
			return true, engine.Boot(r, c.o, call.Stdout)
		}),
	}
}

func (c *command) sha256() *cli.Command {
	return &cli.Command{
		Name:    "sha256",
		Hidden:  true, // what the host-side installers compare files with
		Args:    "FILE...",
		MaxArgs: -1,
		Flags:   c.rootFlag,
		Run: c.verb(func(_ context.Context, r *noderoot.Root, call *cli.Call) (bool, error) {
			return true, sha256Files(r, call.Args, call.Stdout)
		}),
	}
}

// verb runs a command on the node's root after the checks of its flags,
// with SIGINT and SIGTERM cancelling it: exit 0, 1 with the failure on one
// line, or 1 when status finds problems (which it printed).
func (c *command) verb(run func(ctx context.Context, r *noderoot.Root, call *cli.Call) (ok bool, err error)) func(call *cli.Call) int {
	return func(call *cli.Call) int {
		if err := c.check(call.Settings); err != nil {
			return call.UsageError("%v", err)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		r, err := noderoot.Open(c.root)
		if err != nil {
			return call.Fail(fmt.Errorf("%v: --root must be the node's / (a directory)", err))
		}
		defer r.Close()
		ok, err := run(ctx, r, call)
		switch {
		case err != nil:
			return call.Fail(err)
		case !ok:
			return 1
		}
		return 0
	}
}

// check reads and checks what the flags say together: usage errors.
func (c *command) check(s settings.Settings) error {
	if !strings.HasPrefix(c.root, "/") {
		return fmt.Errorf("--root %q must be an absolute path", c.root)
	}
	var err error
	if c.o.Registries, err = registries.ParseList(c.regs.Or(s.Registries)); err != nil {
		return err
	}
	c.o.DockerUsers = nil
	for _, u := range strings.Split(c.users, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		// The names go into a systemd ExecStartPre= line: only what a
		// portable user name may hold.
		if !isUserName(u) {
			return fmt.Errorf("--docker-users: %q is not a user name (letters, digits, ., _ and -)", u)
		}
		c.o.DockerUsers = append(c.o.DockerUsers, u)
	}
	if c.o.Settle < 0 {
		return fmt.Errorf("--kubelet-settle %s is negative", c.o.Settle)
	}
	return c.o.Pod.CheckFlags()
}

// isUserName says whether s is a portable POSIX user name.
func isUserName(s string) bool {
	if s == "" || len(s) > 32 || s[0] == '-' || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// waitCommand is `gcrcred node wait`.
func waitCommand() *cli.Command {
	return &cli.Command{
		Name:    "wait",
		Summary: "block until SIGTERM, touching nothing (the DaemonSet's main container)",
		Help: `Blocks until SIGTERM or SIGINT, touching nothing: the DaemonSet's
unprivileged main container, whose readiness probe runs status.`,
		Run: func(c *cli.Call) int { return wait(c.Stderr) },
	}
}

// wait blocks until the container runtime stops the pod: the DaemonSet's main
// container needs a process that lives cheaply and does nothing (no files,
// no /proc, no network), as uid 65532 with no capabilities.
func wait(stderr io.Writer) int {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	fmt.Fprintln(stderr, "gcrcred node wait: waiting for SIGTERM; readiness is `gcrcred node status`")
	<-sig
	return 0
}

// sha256Files is the hidden `gcrcred node sha256 FILE...`: what sha256sum
// prints, for the host-side installers to compare a node's files with their
// own without busybox's slow sha256sum; a missing file is an error after
// the others are printed.
func sha256Files(r *noderoot.Root, files []string, out io.Writer) error {
	var missing []string
	for _, p := range files {
		f, _, err := r.OpenFile(p)
		if err != nil {
			missing = append(missing, p)
			continue
		}
		h := sha256.New()
		_, err = io.Copy(h, io.LimitReader(f, noderoot.MaxBinary))
		f.Close()
		if err != nil {
			missing = append(missing, p)
			continue
		}
		fmt.Fprintf(out, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), p)
	}
	if len(missing) > 0 {
		return fmt.Errorf("cannot read %s", strings.Join(missing, ", "))
	}
	return nil
}

// Package node is `gcrcred node install|uninstall|status`: the installer
// that runs on one node (or in a pod with the node's / at --root). It finds
// how the node's kubelet is configured (minikube, kubeadm, kind, k3s, rke2,
// or a kubelet that already has a provider config), puts gcrcred's binary,
// credentials and provider config where that kubelet looks, adds its flags
// where they live, restarts it through the service manager and rolls back
// if it does not stay up; uninstall undoes exactly that from a record. The
// minikube installer runs this same command on every node.
package node

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/registries"
)

// options are the command line.
type options struct {
	root        string
	credentials string
	registries  []string
	binary      string
	dockerUsers []string
	settle      time.Duration
	dryRun      bool
	pod         PodIdentity
}

// CLI is `gcrcred node install|uninstall|status|wait` (and the hidden
// boot and sha256 that installs run on nodes).
func CLI() *cli.Command {
	var (
		o     options
		regs  cli.OptionalString
		users string
	)
	root := func(fs *cli.FlagSet) {
		fs.StringVar(&o.root, "root", "/", "the node's file system, a `DIR` (in a pod: where the node's / is mounted)")
	}
	settle := func(fs *cli.FlagSet) {
		fs.DurationVar(&o.settle, "kubelet-settle", 3*time.Second, "how long a restarted kubelet must stay up, a `DURATION`")
		fs.BoolVar(&o.dryRun, "dry-run", false, "print every file, flag and restart it would change; change nothing")
	}
	dockerUsers := func(fs *cli.FlagSet) {
		fs.StringVar(&users, "docker-users", "", "point these `USERS`' Docker at gcrcred (credHelpers), comma-separated")
	}
	// verb runs a command after the checks of its flags, with SIGINT and
	// SIGTERM cancelling it: exit 0, 1 with the failure on one line, or 1
	// when status finds problems (which it printed).
	verb := func(run func(ctx context.Context, c *cli.Call) (ok bool, err error)) func(c *cli.Call) int {
		return func(c *cli.Call) int {
			if code, ok := o.check(c, regs, users); !ok {
				return code
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			ok, err := run(ctx, c)
			switch {
			case err != nil:
				return c.Fail(err)
			case !ok:
				return 1
			}
			return 0
		}
	}
	done := func(err error) (bool, error) { return true, err }
	return &cli.Command{
		Name:    "node",
		Summary: "set up this node's kubelet (as root on the node, or in a pod with its / at --root)",
		Help:    `Run as root on a node, or in a pod with the node's / mounted at --root.`,
		Subs: []*cli.Command{{
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
				root(fs)
				settle(fs)
				dockerUsers(fs)
				fs.StringVar(&o.credentials, "credentials", "", "credentials `FILE` to install (a file on this machine, not under --root); without it the node's "+Credentials+" is kept")
				fs.Var(&regs, "registries", "extra registry hosts or `PATTERNS`, comma-separated (default: $GCRCRED_REGISTRIES)")
				fs.StringVar(&o.binary, "binary", "", "the gcrcred `FILE` to install (default: this one)")
				fs.Group(PodIdentityTitle+`
The API server must let kubelets request tokens for the audience (RBAC verb
request-serviceaccounts-token-audience for group system:nodes:
deploy/workload-identity).`, func() { o.pod.AddFlags(fs.FlagSet) })
			},
			Run: verb(func(ctx context.Context, c *cli.Call) (bool, error) { return done(install(ctx, o, c.Stdout)) }),
		}, {
			Name:    "uninstall",
			Summary: "undo exactly what install did (flags first, then files)",
			Help:    "Undoes exactly what install did (flags first, then files), from the record install keeps in " + RecordFile + ".",
			Flags:   func(fs *cli.FlagSet) { root(fs); settle(fs) },
			Run:     verb(func(ctx context.Context, c *cli.Call) (bool, error) { return done(uninstall(ctx, o, c.Stdout)) }),
		}, {
			Name:    "status",
			Summary: "check the node, read-only; exit 0 only if all is well",
			Help:    "Checks the node, read-only (also as a user other than root); exit 0 only if all is well.",
			Flags:   root,
			Run:     verb(func(ctx context.Context, c *cli.Call) (bool, error) { return status(ctx, o, c.Stdout) }),
		}, {
			Name:    "wait",
			Summary: "block until SIGTERM, touching nothing (the DaemonSet's main container)",
			Help: `Blocks until SIGTERM or SIGINT, touching nothing: the DaemonSet's
unprivileged main container, whose readiness probe runs status.`,
			Run: func(c *cli.Call) int { return wait(c.Stderr) },
		}, {
			Name:   "boot",
			Hidden: true, // the ExecStartPre of minikube's kubelet drop-in
			Flags:  func(fs *cli.FlagSet) { root(fs); dockerUsers(fs) },
			Run:    verb(func(ctx context.Context, c *cli.Call) (bool, error) { return done(boot(o, c.Stdout)) }),
		}, {
			Name:    "sha256",
			Hidden:  true, // what the host-side installers compare files with
			Args:    "FILE...",
			MaxArgs: -1,
			Flags:   root,
			Run:     verb(func(ctx context.Context, c *cli.Call) (bool, error) { return done(sha256Files(o, c.Args, c.Stdout)) }),
		}},
	}
}

// check reads and checks what the flags say together: usage errors.
func (o *options) check(c *cli.Call, regs cli.OptionalString, users string) (int, bool) {
	if !strings.HasPrefix(o.root, "/") {
		return c.UsageError("--root %q must be an absolute path", o.root), false
	}
	var err error
	if o.registries, err = registries.ParseList(regs.Or(c.Settings.Registries)); err != nil {
		return c.UsageError("%v", err), false
	}
	for _, u := range strings.Split(users, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		// The names go into a systemd ExecStartPre= line: only what a
		// portable user name may hold.
		if !isUserName(u) {
			return c.UsageError("--docker-users: %q is not a user name (letters, digits, ., _ and -)", u), false
		}
		o.dockerUsers = append(o.dockerUsers, u)
	}
	if o.settle < 0 {
		return c.UsageError("--kubelet-settle %s is negative", o.settle), false
	}
	if err := o.pod.CheckFlags(); err != nil {
		return c.UsageError("%v", err), false
	}
	return 0, true
}

// notes prints what a command does, one line each, and counts the changes.
type notes struct {
	out     io.Writer
	changed int
}

func (n *notes) change(format string, args ...any) {
	n.changed++
	fmt.Fprintf(n.out, "  "+format+"\n", args...)
}

func (n *notes) say(format string, args ...any) {
	fmt.Fprintf(n.out, "  note: "+format+"\n", args...)
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

// isRoot reports whether this process may change the node (and read
// what only root reads in /proc).
func isRoot() bool { return os.Geteuid() == 0 }

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

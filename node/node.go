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

const help = `Usage:
  gcrcred node install   [--root DIR] [--credentials FILE] [--registries R,...] [--binary FILE]
                         [--docker-users USER,...] [--kubelet-settle D] [--dry-run]
                         [--workload-identity FILE --service-account-audience AUD [--pod-identity annotated|all]
                          [--subject-mapping EXPR] [--require-service-account] [--allow-shared-image-cache]]
  gcrcred node uninstall [--root DIR] [--kubelet-settle D] [--dry-run]
  gcrcred node status    [--root DIR]
  gcrcred node wait

Run as root on a node, or in a pod with the node's / mounted at --root.

install    finds how the kubelet is set up and says so in one line, then puts
           the binary, the credentials and a kubelet credential provider config
           where that kubelet looks, adds the two kubelet flags where its flags
           live, and restarts it. Files first, flags last; a kubelet that does
           not stay up gets its old files and flags back. A rerun changes
           nothing and says "unchanged", unless something differs.
             minikube        flags on the ExecStart of minikube's kubelet drop-in
             kubeadm, kind   flags in KUBELET_EXTRA_ARGS (/etc/default/kubelet or
                             /etc/sysconfig/kubelet)
             k3s, rke2       files at /var/lib/rancher/credentialprovider (no flags)
             provider-config a kubelet already run with --image-credential-provider-config:
                             gcrcred's provider added to that config, binary into its bin dir
uninstall  undoes exactly what install did (flags first, then files), from the
           record install keeps in ` + RecordFile + `.
status     checks the node, read-only (also as a user other than root);
           exit 0 only if all is well.
wait       blocks until SIGTERM or SIGINT, touching nothing: the DaemonSet's
           unprivileged main container, whose readiness probe runs status.

Flags:
  --root DIR              the node's file system (default /)
  --credentials FILE      credentials to install (a file on this machine, not under
                          --root); without it the node's ` + Credentials + ` is kept
  --registries R,...      extra registry hosts or patterns (default: $GCRCRED_REGISTRIES)
  --binary FILE           the gcrcred to install (default: this one)
  --docker-users U,...    point these users' Docker at gcrcred (credHelpers)
  --kubelet-settle D      how long a restarted kubelet must stay up (default 3s)
  --dry-run               print every file, flag and restart install would change; change nothing

` + PodIdentityHelp + `  A rerun without them turns per-pod identity off again.
  The API server must let kubelets request tokens for AUD (RBAC verb
  request-serviceaccounts-token-audience for group system:nodes: deploy/workload-identity).
`

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

// Run is `gcrcred node ...`.
func Run(args []string, stdout, stderr io.Writer) int {
	verb, args, ok, code := cli.Verb("gcrcred node", help, args, []string{"install", "uninstall", "status", "wait"}, []string{"boot", "sha256"}, stdout, stderr)
	if !ok {
		return code
	}
	name := "gcrcred node " + verb
	maxArgs := 0
	if verb == "sha256" {
		maxArgs = -1
	}
	c := cli.New(name, help, maxArgs)
	var o options
	var regs cli.OptionalString
	var users string
	c.Flags.StringVar(&o.root, "root", "/", "")
	c.Flags.DurationVar(&o.settle, "kubelet-settle", 3*time.Second, "")
	c.Flags.BoolVar(&o.dryRun, "dry-run", false, "")
	if verb == "install" {
		c.Flags.StringVar(&o.credentials, "credentials", "", "")
		c.Flags.Var(&regs, "registries", "")
		c.Flags.StringVar(&o.binary, "binary", "", "")
		o.pod.AddFlags(c.Flags)
	}
	if verb == "install" || verb == "boot" {
		c.Flags.StringVar(&users, "docker-users", "", "")
	}
	if ok, code := c.Parse(args, stdout, stderr); !ok {
		return code
	}
	if !strings.HasPrefix(o.root, "/") {
		return c.UsageError(stderr, "--root %q must be an absolute path", o.root)
	}
	var err error
	if o.registries, err = registries.ParseList(regs.Or(os.Getenv(registries.EnvExtra))); err != nil {
		return c.UsageError(stderr, "%v", err)
	}
	for _, u := range strings.Split(users, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		// The names go into a systemd ExecStartPre= line: only what a
		// portable user name may hold.
		if !isUserName(u) {
			return c.UsageError(stderr, "--docker-users: %q is not a user name (letters, digits, ., _ and -)", u)
		}
		o.dockerUsers = append(o.dockerUsers, u)
	}
	if o.settle < 0 {
		return c.UsageError(stderr, "--kubelet-settle %s is negative", o.settle)
	}
	if err := o.pod.CheckFlags(); err != nil {
		return c.UsageError(stderr, "%v", err)
	}

	if verb == "wait" {
		return wait(stderr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch verb {
	case "install":
		err = install(ctx, o, stdout)
	case "uninstall":
		err = uninstall(ctx, o, stdout)
	case "boot":
		err = boot(o, stdout)
	case "sha256":
		err = sha256Files(o, c.Flags.Args(), stdout)
	case "status":
		var ok bool
		if ok, err = status(ctx, o, stdout); err == nil && !ok {
			return 1
		}
	}
	if err != nil {
		return cli.Fail(stderr, name, err)
	}
	return 0
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

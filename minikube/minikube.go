// Package minikube is `gcrcred minikube install|uninstall|status`, run on
// the host: it checks what a minikube profile needs (all at once), picks
// each node's binary, keeps gcrcred's files in minikube's file sync and its
// kubelet flags in the profile's saved extra-config (so restarts and added
// nodes keep them), and runs `gcrcred node install|uninstall|status` on
// every node through the minikube CLI (package minikubecli).
package minikube

import (
	"context"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/registries"
	"github.com/gcrcred/gcrcred/minikube/minikubecli"
)

const help = `Usage:
  gcrcred minikube install   [-p PROFILE] [--credentials FILE] [--dist DIR] [--registries R,...] [--dry-run]
  gcrcred minikube uninstall [-p PROFILE] [--dry-run]
  gcrcred minikube status    [-p PROFILE]

install    puts gcrcred on every node of the profile: the binary (also as
           docker-credential-gcrcred), the credentials this host uses, a kubelet
           credential provider config and the kubelet flags, and Docker's
           credHelpers for root and the docker user; kept across minikube
           stop/start and node add (file sync and the profile's extra-config).
           It runs ` + "`gcrcred node install`" + ` on each node.
uninstall  removes exactly what install added.
status     checks the host and every node; exit 0 only if all is well.

Flags:
  -p, --profile NAME     the minikube profile (default: minikube's current one)
  --credentials FILE     credentials to copy to the nodes (default: what gcrcred
                         uses on this host: see ` + "`gcrcred doctor`" + `)
  --dist DIR             where gcrcred-linux-amd64 and gcrcred-linux-arm64 are
                         (default: $GCRCRED_DIST, else the directory of this gcrcred)
  --registries R,...     extra registry hosts or patterns (default: $GCRCRED_REGISTRIES)
  --kubelet-settle D     how long a restarted kubelet must stay up (default 3s)
  --minikube CMD         the minikube command (default: minikube)
  --dry-run              print every file each node would get and every change,
                         then everything missing; change nothing
`

// options are the command line.
type options struct {
	profile     string
	credentials string
	dist        string
	registries  []string
	dryRun      bool
	settle      time.Duration
	minikube    string
}

// Run is `gcrcred minikube install|uninstall|status`.
func Run(args []string, stdout, stderr io.Writer) int {
	verb, args, ok, code := cli.Verb("gcrcred minikube", help, args, []string{"install", "uninstall", "status"}, []string{"node-archs"}, stdout, stderr)
	if !ok {
		return code
	}
	name := "gcrcred minikube " + verb
	c := cli.New(name, help, 0)
	var o options
	var regs cli.OptionalString
	c.Flags.StringVar(&o.profile, "p", "", "")
	c.Flags.StringVar(&o.profile, "profile", "", "")
	c.Flags.StringVar(&o.credentials, "credentials", "", "")
	c.Flags.StringVar(&o.dist, "dist", "", "")
	c.Flags.Var(&regs, "registries", "")
	c.Flags.BoolVar(&o.dryRun, "dry-run", false, "")
	c.Flags.DurationVar(&o.settle, "kubelet-settle", 3*time.Second, "")
	c.Flags.StringVar(&o.minikube, "minikube", "minikube", "")
	if ok, code := c.Parse(args, stdout, stderr); !ok {
		return code
	}
	var err error
	if o.registries, err = registries.ParseList(regs.Or(os.Getenv(registries.EnvExtra))); err != nil {
		return c.UsageError(stderr, "%v", err)
	}
	if o.profile == "" {
		o.profile = minikubecli.DefaultProfile()
	}
	if o.dist == "" {
		o.dist = os.Getenv("GCRCRED_DIST")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	switch verb {
	case "install":
		err = install(ctx, o, stdout)
	case "uninstall":
		err = uninstall(ctx, o, stdout)
	case "node-archs":
		nodeArchs(ctx, o, stdout)
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

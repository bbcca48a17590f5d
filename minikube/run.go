// Package minikube is `gcrcred minikube install|uninstall|status`: it puts
// gcrcred on every node of a minikube profile, wires the kubelet and Docker
// to it, makes that survive `minikube stop/start` and `node add`, and takes
// it all away again. It reaches nodes only through the minikube CLI.
package minikube

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/registries"
)

const usage = `Usage:
  gcrcred minikube install   [-p PROFILE] [--credentials F] [--dist DIR] [--registries R,...] [--dry-run]
  gcrcred minikube uninstall [-p PROFILE] [--dry-run]
  gcrcred minikube status    [-p PROFILE]

install   puts gcrcred on every node of the profile: the binary (also as
          docker-credential-gcrcred), the credentials this host uses, a kubelet
          credential provider config and the kubelet flags, plus Docker's
          credHelpers; kept across minikube stop/start and node add.
uninstall removes exactly what install added.
status    checks every node; exit 0 only if all is well.

Flags:
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
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	// Node-side commands, run by the installer through ssh and by the
	// kubelet's ExecStartPre; not for people.
	switch cmd {
	case "node-setup":
		return runNodeSide(args, stdout, stderr, func(s *nodeSetup) error { return s.setup(len(args) > 0 && args[0] == "--boot") })
	case "node-cleanup":
		return runNodeSide(args, stdout, stderr, func(s *nodeSetup) error { return s.cleanup() })
	}

	o, err := parseFlags(cmd, args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	switch cmd {
	case "install":
		err = install(ctx, o, stdout)
	case "uninstall":
		err = uninstall(ctx, o, stdout)
	case "status":
		var ok bool
		ok, err = status(ctx, o, stdout)
		if err == nil && !ok {
			return 1
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "gcrcred minikube %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

func parseFlags(cmd string, args []string, stderr io.Writer) (options, error) {
	var o options
	switch cmd {
	case "install", "uninstall", "status":
	case "help", "-h", "--help":
		fmt.Fprint(stderr, usage)
		return o, flag.ErrHelp
	default:
		fmt.Fprintf(stderr, "gcrcred minikube: unknown command %q\n\n%s", cmd, usage)
		return o, errors.New("usage")
	}
	fs := flag.NewFlagSet("gcrcred minikube "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	fs.StringVar(&o.profile, "p", "", "minikube profile (default: minikube's current profile)")
	fs.StringVar(&o.profile, "profile", "", "same as -p")
	fs.StringVar(&o.credentials, "credentials", "", "credentials file to copy to the nodes (default: what gcrcred uses on this host)")
	fs.StringVar(&o.dist, "dist", "", "directory with gcrcred-linux-amd64/arm64 (default: GCRCRED_DIST, ./dist, or dist/ next to this binary)")
	regs := fs.String("registries", os.Getenv(registries.EnvExtra), "extra registry hosts or patterns, comma-separated (default: GCRCRED_REGISTRIES)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "print the steps, change nothing")
	fs.DurationVar(&o.settle, "kubelet-settle", 3*time.Second, "how long a restarted kubelet must stay up to count as started")
	fs.StringVar(&o.minikube, "minikube", "minikube", "the minikube command")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gcrcred minikube %s: unexpected arguments %s\n", cmd, strings.Join(fs.Args(), " "))
		return o, errors.New("usage")
	}
	var err error
	if o.registries, err = registries.ParseList(*regs); err != nil {
		fmt.Fprintf(stderr, "gcrcred minikube %s: %v\n", cmd, err)
		return o, errors.New("usage")
	}
	if o.profile == "" {
		o.profile = defaultProfile()
	}
	return o, nil
}

func runNodeSide(args []string, stdout, stderr io.Writer, do func(*nodeSetup) error) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "gcrcred minikube: node-side commands run as root on a minikube node (the installer runs them)")
		return 2
	}
	s := &nodeSetup{root: "/", out: stdout}
	if err := do(s); err != nil {
		fmt.Fprintf(stderr, "gcrcred: %v\n", err)
		return 1
	}
	return 0
}

// Package engine is `gcrcred node install` and `uninstall` as one
// transaction over a flavour.Setup: the plan (directories and files first,
// the kubelet flags last), each change recorded (package record) before it
// is made, the kubelet restarted through the node's service manager and
// watched, and on failure this run's changes put back; uninstall undoes
// the record, flags first. It knows no set-up by name: what differs
// between them is in the Setup.
package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/dockerconfig"
	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/internal/podidentity"
	"github.com/gcrcred/gcrcred/internal/podinstall"
	"github.com/gcrcred/gcrcred/internal/providerconfig"
	"github.com/gcrcred/gcrcred/node/internal/dockercfg"
	"github.com/gcrcred/gcrcred/node/internal/flavour"
	"github.com/gcrcred/gcrcred/node/internal/kubelet"
	"github.com/gcrcred/gcrcred/node/internal/record"
)

// Options are what `gcrcred node install|uninstall|boot` were asked.
type Options struct {
	Credentials string // a file on this machine; "": keep the node's
	Registries  []string
	Binary      string // the gcrcred to install; "": this program
	DockerUsers []string
	Settle      time.Duration
	DryRun      bool
	Pod         podinstall.PodIdentity
}

// Notes prints what a command does, one line each, and counts the changes.
type Notes struct {
	out     io.Writer
	changed int
}

// Change says one change.
func (n *Notes) Change(format string, args ...any) {
	n.changed++
	fmt.Fprintf(n.out, "  "+format+"\n", args...)
}

// Say says a note.
func (n *Notes) Say(format string, args ...any) {
	fmt.Fprintf(n.out, "  note: "+format+"\n", args...)
}

// run is one run of install (or of uninstall, which shares its file and
// restart steps).
type run struct {
	ctx context.Context
	r   *noderoot.Root
	o   Options
	s   *flavour.Setup
	n   *Notes

	rec       *record.Record
	recBefore []byte         // the record file before this run (nil: none)
	undo      []func() error // puts back what this run changed, newest last

	binVersion   string // the version of the binary installed, when it is this program
	restartFiles bool   // the binary or the provider config changed
	unitChanged  bool   // a systemd unit file changed: daemon-reload
	restarted    bool
}

// isRoot reports whether this process may change the node (and read what
// only root reads in /proc).
func isRoot() bool { return os.Geteuid() == 0 }

// Install puts gcrcred where the kubelet of the node at r looks, adds its
// flags and restarts it (or with DryRun prints the plan).
func Install(ctx context.Context, r *noderoot.Root, o Options, out io.Writer) error {
	s, err := flavour.Detect(r, isRoot())
	if err != nil {
		return fmt.Errorf("nothing changed: %w", err)
	}
	fmt.Fprintf(out, "kubelet set-up: %s (%s)\n", s.Flavour, s.Evidence)
	if why := s.Refusal(); why != "" {
		return fmt.Errorf("nothing changed: %s", why)
	}
	if !o.DryRun && !isRoot() {
		return fmt.Errorf("install changes the node's files and restarts its kubelet: run it as root (or with --dry-run to see the plan)")
	}
	in := &run{ctx: ctx, r: r, o: o, s: s, n: &Notes{out: out}}
	in.podNotes()
	items, dirs, missing := in.plan()
	if o.DryRun {
		in.printPlan(items, dirs, missing)
		if len(missing) > 0 {
			return fmt.Errorf("missing: %s", strings.Join(missing, "; "))
		}
		return nil
	}
	if len(missing) > 0 {
		return fmt.Errorf("nothing changed: %s", strings.Join(missing, "; "))
	}
	if err := in.checkSystemctl(); err != nil {
		return err
	}
	if err := in.apply(items, dirs); err != nil {
		return err
	}
	switch {
	case in.n.changed == 0:
		fmt.Fprintln(out, "unchanged")
	case in.restarted:
		fmt.Fprintf(out, "changed: %d change(s); %s restarted\n", in.n.changed, s.Service.Name)
	default:
		fmt.Fprintf(out, "changed: %d change(s)\n", in.n.changed)
	}
	return nil
}

// podNotes says what per-pod identity does on this node, and what of it
// is likely a mistake.
func (in *run) podNotes() {
	p := in.o.Pod
	if !p.On() {
		return
	}
	fmt.Fprintf(in.n.out, "%s\n", p.Describe())
	if _, note := kubelet.TokenProblem(in.r, &in.s.Service, in.s.Kubelet.Proc); note != "" {
		in.n.Say("%s", note)
	}
	if _, note := in.imageCacheProblem(); note != "" {
		in.n.Say("%s", note)
	}
	if data, err := p.Read(); err == nil {
		for _, w := range p.Warnings(data) {
			in.n.Say("%s", w)
		}
	}
	in.n.Say("the API server must let kubelets request tokens for audience %q: RBAC verb request-serviceaccounts-token-audience for group system:nodes (ClusterRole and ClusterRoleBinding %s: deploy/workload-identity)", p.Audience, podidentity.RBACName)
}

// imageCacheProblem is why install refuses per-pod identity on this node
// (a kubelet that lets pods run images other service accounts pulled), or
// a note: under --allow-shared-image-cache what was accepted, otherwise
// how gcrcred knows the kubelet keeps images apart.
func (in *run) imageCacheProblem() (problem, note string) {
	why, prevents := kubelet.SharedImageCache(in.r, &in.s.Service, in.s.Kubelet.Proc)
	switch {
	case why == "":
		return "", prevents
	case in.o.Pod.AllowSharedImageCache:
		return "", "--allow-shared-image-cache: " + why
	}
	return "per-pod identity keeps images apart only if the kubelet does: " + why + "; or accept it with --allow-shared-image-cache", ""
}

// apply makes the node match the plan: directories, files, flags, a
// restart if anything the kubelet reads at start changed, then Docker.
func (in *run) apply(items []item, dirs []dirSpec) error {
	if err := in.loadRecord(); err != nil {
		return err
	}
	dockerBefore, _ := dockercfg.Load(in.r)
	in.adoptDirs(dirs)
	for _, d := range dirs {
		if err := in.ensureDir(d); err != nil {
			return in.rollback(err, dockerBefore)
		}
	}
	for _, it := range items {
		if err := in.write(it); err != nil {
			return in.rollback(err, dockerBefore)
		}
	}
	if why := in.restartReason(); why != "" {
		if err := in.restartService(why); err != nil {
			return in.rollback(err, dockerBefore)
		}
	}
	plugin := in.s.Plugin()
	if err := record.SaveInstalled(in.r, in.s, plugin, contentOf(items, plugin), in.binVersion); err != nil {
		return err
	}
	hosts := providerconfig.DockerHosts(contentOf(items, in.s.Config), dockerconfig.DefaultHosts)
	return dockercfg.Setup(in.r, in.o.DockerUsers, hosts, in.n)
}

// loadRecord reads the node's record (or starts one) for this run.
func (in *run) loadRecord() error {
	rec, raw, err := record.Load(in.r)
	if err != nil {
		return err
	}
	if rec == nil {
		rec = &record.Record{Version: record.Version}
	}
	rec.Flavour, rec.Service = in.s.Flavour, in.s.Service.Name
	for _, u := range in.o.DockerUsers {
		if !slices.Contains(rec.DockerUsers, u) {
			rec.DockerUsers = append(rec.DockerUsers, u)
		}
	}
	in.rec, in.recBefore = rec, raw
	return nil
}

// contentOf is what the plan writes at p (nil if nothing).
func contentOf(items []item, p string) []byte {
	for _, it := range items {
		if it.path == p {
			return it.content
		}
	}
	return nil
}

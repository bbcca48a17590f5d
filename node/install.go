package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/gcrcred/gcrcred/internal/credfile"
	"github.com/gcrcred/gcrcred/internal/dockerconfig"
	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/internal/smallfile"
	"github.com/gcrcred/gcrcred/internal/version"
	"github.com/gcrcred/gcrcred/provider"
)

// installer is one run of install (or of uninstall, which shares its
// file and restart steps).
type installer struct {
	ctx context.Context
	r   *noderoot.Root
	o   options
	s   *setup
	n   *notes

	rec       *record
	recBefore []byte         // the record file before this run (nil: none)
	undo      []func() error // puts back what this run changed, newest last

	binVersion   string // the version of the binary installed, when it is this program
	restartFiles bool   // the binary or the provider config changed
	unitChanged  bool   // a systemd unit file changed: daemon-reload
	restarted    bool
}

// dirSpec is a directory install makes if it is missing.
type dirSpec struct {
	path     string
	mode     fs.FileMode
	uid, gid int
}

func install(ctx context.Context, o options, out io.Writer) error {
	r, err := openRoot(o.root)
	if err != nil {
		return err
	}
	defer r.Close()
	s, err := detect(r)
	if err != nil {
		return fmt.Errorf("nothing changed: %w", err)
	}
	fmt.Fprintf(out, "kubelet set-up: %s (%s)\n", s.flavour, s.evidence)
	if why := s.refusal(); why != "" {
		return fmt.Errorf("nothing changed: %s", why)
	}
	if !o.dryRun && os.Geteuid() != 0 {
		return errors.New("install changes the node's files and restarts its kubelet: run it as root (or with --dry-run to see the plan)")
	}
	in := &installer{ctx: ctx, r: r, o: o, s: s, n: &notes{out: out}}
	if o.pod.On() {
		fmt.Fprintf(out, "%s\n", o.pod.Describe())
		if _, note := podIdentityKubelet(r, s); note != "" {
			in.n.say("%s", note)
		}
		if _, note := o.pod.imageCacheProblem(r, s); note != "" {
			in.n.say("%s", note)
		}
		if data, err := o.pod.Read(); err == nil {
			for _, w := range o.pod.Warnings(data) {
				in.n.say("%s", w)
			}
		}
		in.n.say("the API server must let kubelets request tokens for audience %q: RBAC verb request-serviceaccounts-token-audience for group system:nodes (ClusterRole and ClusterRoleBinding %s: deploy/workload-identity)", o.pod.Audience, provider.RBACName)
	}
	items, dirs, missing := in.plan()
	if o.dryRun {
		in.printPlan(items, dirs, missing)
		if len(missing) > 0 {
			return fmt.Errorf("missing: %s", strings.Join(missing, "; "))
		}
		return nil
	}
	if len(missing) > 0 {
		return fmt.Errorf("nothing changed: %s", strings.Join(missing, "; "))
	}
	if err := in.apply(items, dirs); err != nil {
		return err
	}
	switch {
	case in.n.changed == 0:
		fmt.Fprintln(out, "unchanged")
	case in.restarted:
		fmt.Fprintf(out, "changed: %d change(s); %s restarted\n", in.n.changed, s.service)
	default:
		fmt.Fprintf(out, "changed: %d change(s)\n", in.n.changed)
	}
	return nil
}

// binary is the gcrcred to install: --binary, else this very program.
func (in *installer) binary() ([]byte, error) {
	p := in.o.binary
	if p == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding this program to install it: %v; pass --binary FILE", err)
		}
		p = exe
	}
	b, err := smallfile.Read(p, maxBinary, "binary")
	if err != nil {
		return nil, fmt.Errorf("reading the binary to install: %v", err)
	}
	if !bytes.HasPrefix(b, []byte("\x7fELF")) {
		return nil, fmt.Errorf("--binary %s is not a Linux executable: pass a linux gcrcred build (`make dist`)", p)
	}
	// This very program knows its stamped version; another one is read
	// from its build information (which -trimpath builds keep unstamped).
	if exe, err := os.Executable(); err == nil {
		if own, err := smallfile.Read(exe, maxBinary, "binary"); err == nil && bytes.Equal(own, b) {
			in.binVersion = version.String()
		}
	}
	return b, nil
}

// credentials are --credentials, else what the node already has.
func (in *installer) credentials() ([]byte, error) {
	if in.o.credentials == "" {
		cur, err := readState(in.r, Credentials)
		if err != nil {
			return nil, err
		}
		if !cur.exists && in.o.pod.On() {
			return nil, nil // pods pull as their own identity
		}
		if !cur.exists {
			return nil, fmt.Errorf("the node has no %s: pass --credentials FILE (a service-account key, or a credentials file gcloud writes), or --workload-identity for per-pod identity", Credentials)
		}
		return cur.content, nil
	}
	b, err := credfile.ReadFile(in.o.credentials)
	if err != nil {
		return nil, fmt.Errorf("--credentials: %v", err)
	}
	// The same checks the kubelet's gcrcred will make (a node's rules),
	// before the node gets a file it cannot use.
	if _, err := credfile.Parse(b, in.o.credentials, "--credentials", credfile.Node); err != nil {
		return nil, err
	}
	return b, nil
}

// flagsContent is the flags file with the two flags added.
func (in *installer) flagsContent() ([]byte, error) {
	cur, err := readState(in.r, in.s.flagsFile)
	if err != nil {
		return nil, err
	}
	var out string
	if in.s.flagsVar == "" {
		out, _, err = addExecStartFlags(string(cur.content), KubeletFlags())
	} else {
		out, _, err = addEnvFlags(string(cur.content), in.s.flagsVar, KubeletFlags())
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", in.s.flagsFile, err)
	}
	return []byte(out), nil
}

// apply makes the node match the plan: directories, files, flags, a
// restart if anything the kubelet reads at start changed, then Docker.
func (in *installer) apply(items []item, dirs []dirSpec) error {
	rec, raw, err := loadRecord(in.r)
	if err != nil {
		return err
	}
	if rec == nil {
		rec = &record{Version: recordVersion}
	}
	rec.Flavour, rec.Service = in.s.flavour, in.s.service
	for _, u := range in.o.dockerUsers {
		if !slices.Contains(rec.DockerUsers, u) {
			rec.DockerUsers = append(rec.DockerUsers, u)
		}
	}
	in.rec, in.recBefore = rec, raw
	dockerBefore, _ := loadDockerStates(in.r)

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
	plugin := path.Join(in.s.binDir, pluginName)
	if err := saveInstalled(in.r, in.s, plugin, contentOf(items, plugin), in.binVersion); err != nil {
		return err
	}
	hosts := dockerHostsOf(contentOf(items, in.s.config), dockerconfig.DefaultHosts)
	return setupDocker(in.r, in.o.dockerUsers, hosts, in.n)
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

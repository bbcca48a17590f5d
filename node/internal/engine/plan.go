package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"

	"github.com/gcrcred/gcrcred/internal/credfile"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/internal/providerconfig"
	"github.com/gcrcred/gcrcred/internal/smallfile"
	"github.com/gcrcred/gcrcred/internal/version"
	"github.com/gcrcred/gcrcred/node/internal/kubelet"
	"github.com/gcrcred/gcrcred/node/internal/record"
)

// item is one file install puts on a node.
type item struct {
	path     string
	mode     fs.FileMode
	uid, gid int
	content  []byte
	restart  bool // the kubelet reads it only at start: a change restarts it
	unit     bool // a systemd unit file: a change needs a daemon-reload
	role     string
	// edited: a file of the node's that gcrcred changes rather than owns
	// (flags, a shared provider config): it keeps its mode and owner.
	edited bool
	// remove: an earlier install wrote it and this one does not want it:
	// it gets back its state from before (from the record).
	remove bool
}

// dirSpec is a directory install makes if it is missing.
type dirSpec struct {
	path     string
	mode     fs.FileMode
	uid, gid int
}

// plan lists the directories and files install wants, in order (the flags
// last), and what it lacks to write them.
func (in *run) plan() ([]item, []dirSpec, []string) {
	var items []item
	var missing []string
	need := func(it item, err error) {
		if err != nil {
			missing = append(missing, err.Error())
		}
		items = append(items, it)
	}
	binary, err := in.binary()
	need(item{path: in.s.Plugin(), mode: 0o755, content: binary, restart: true, role: record.RoleFile}, err)
	if in.s.Wrappers || len(in.o.DockerUsers) > 0 {
		w := nodelayout.Wrapper(in.s.Plugin())
		items = append(items,
			item{path: nodelayout.Command, mode: 0o755, content: w, role: record.RoleFile},
			item{path: nodelayout.DockerHelper, mode: 0o755, content: w, role: record.RoleFile})
	}
	if creds, err := in.credentials(); creds != nil || err != nil {
		mode, gid := credentialsAccessFor(in.r, in.o.DockerUsers)
		need(item{path: nodelayout.Credentials, mode: mode, gid: gid, content: creds, role: record.RoleFile}, err)
	}
	pod, podItem, problems := in.planPod()
	missing = append(missing, problems...)
	if podItem != nil {
		items = append(items, *podItem)
	}
	need(in.configItem(pod))
	if in.s.BootDropIn {
		items = append(items, item{path: nodelayout.BootDropIn, mode: 0o644, content: nodelayout.BootDropInContent(in.o.DockerUsers), unit: true, role: record.RoleBoot})
	}
	if f := in.s.Flags; f != nil {
		flags, err := in.flagsContent()
		need(item{path: f.Path, mode: 0o644, content: flags, unit: f.IsUnit(), role: record.RoleFlags, edited: true}, err)
	}
	return items, cacheDirSpecs(in.r, in.o.DockerUsers), missing
}

// planPod is per-pod identity in the plan: its configuration file (or its
// removal when an earlier install had it on and this one does not), what
// goes into the provider config, and what stops it on this node.
func (in *run) planPod() (*providerconfig.NodePod, *item, []string) {
	p := in.o.Pod
	if !p.On() {
		if in.podWasOn() {
			return nil, &item{path: nodelayout.WorkloadIdentity, remove: true, restart: true, role: record.RoleFile}, nil
		}
		return nil, nil, nil
	}
	var problems []string
	data, err := p.Read()
	if err != nil {
		problems = append(problems, err.Error())
	}
	if problem, _ := kubelet.TokenProblem(in.r, &in.s.Service, in.s.Kubelet.Proc); problem != "" {
		problems = append(problems, problem)
	}
	if problem, _ := in.imageCacheProblem(); problem != "" {
		problems = append(problems, problem)
	}
	it := &item{path: nodelayout.WorkloadIdentity, mode: nodelayout.WorkloadIdentityMode, content: data, restart: true, role: record.RoleFile}
	return p.NodePod(data), it, problems
}

// podWasOn reports whether an earlier install put the workload identity
// configuration there: the record says so, or, without a record where
// gcrcred's files outlive it (a minikube VM's RAM root, whose file sync
// brought the file back), the file is there by gcrcred's name.
func (in *run) podWasOn() bool {
	rec, _, _ := record.Load(in.r)
	if rec != nil {
		return rec.File(nodelayout.WorkloadIdentity) != nil
	}
	return in.s.FilesOutliveRecord && in.r.Exists(nodelayout.WorkloadIdentity)
}

// configItem is the provider config: gcrcred's own file behind its own
// flags, its own file in the kubelet's config directory, or gcrcred's
// provider merged into a config it shares.
func (in *run) configItem(pod *providerconfig.NodePod) (item, error) {
	s := in.s
	it := item{path: s.Config, mode: 0o644, restart: true, role: record.RoleConfig, edited: true}
	var err error
	switch {
	case s.ConfigDir != "":
		it.content, err = render(providerconfig.ForNode(dirAPIVersion(in, s.ConfigDir), in.o.Registries, pod))
	case s.SharedConfig:
		cur, rerr := in.r.ReadState(s.Config)
		if rerr != nil {
			return it, rerr
		}
		it.content, err = providerconfig.Merge(cur.Content, cur.Exists, s.Config, providerconfig.ForNode("", in.o.Registries, pod))
	default:
		it.role, it.edited = record.RoleFile, false
		it.content, err = render(providerconfig.ForNode("", in.o.Registries, pod))
	}
	if errors.Is(err, providerconfig.ErrNoTokenAttributes) {
		err = fmt.Errorf("%s: the kubelet reads an older provider config version than per-pod identity needs (%v): install without --workload-identity, or upgrade the kubelet and its provider config", s.Config, err)
	}
	return it, err
}

// render is gcrcred's own provider config.
func render(o providerconfig.Options) ([]byte, error) {
	b, err := providerconfig.Render(o)
	if err != nil {
		return nil, fmt.Errorf("rendering the kubelet credential provider config: %w", err)
	}
	return b, nil
}

// dirAPIVersion is the exec API version of the other configs in a config
// directory (the kubelet there reads them), v1 if there are none.
func dirAPIVersion(in *run, dir string) string {
	entries, _ := in.r.Entries(dir)
	var names []string
	for _, e := range entries {
		switch path.Ext(e) {
		case ".yaml", ".yml", ".json":
			if e != path.Base(in.s.Config) {
				names = append(names, e)
			}
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if c, err := in.r.ReadText(path.Join(dir, n)); err == nil {
			if doc, err := providerconfig.Parse([]byte(c), n); err == nil {
				return doc.ExecAPIVersion()
			}
		}
	}
	return "v1"
}

// binary is the gcrcred to install: --binary, else this very program.
func (in *run) binary() ([]byte, error) {
	exe, exeErr := os.Executable()
	p := in.o.Binary
	if p == "" {
		if exeErr != nil {
			return nil, fmt.Errorf("finding this program to install it: %v; pass --binary FILE", exeErr)
		}
		p = exe
	}
	b, err := smallfile.Read(p, noderoot.MaxBinary, "binary")
	if err != nil {
		return nil, fmt.Errorf("reading the binary to install: %v", err)
	}
	if !bytes.HasPrefix(b, []byte("\x7fELF")) {
		return nil, fmt.Errorf("--binary %s is not a Linux executable: pass a linux gcrcred build (`make dist`)", p)
	}
	// This very program knows its stamped version; another one is read
	// from its build information (which -trimpath builds keep unstamped).
	if p == exe || exeErr == nil && sameFile(p, exe) {
		in.binVersion = version.String()
	} else if exeErr == nil {
		if own, err := smallfile.Read(exe, noderoot.MaxBinary, "binary"); err == nil && bytes.Equal(own, b) {
			in.binVersion = version.String()
		}
	}
	return b, nil
}

// sameFile reports whether two paths name one file.
func sameFile(a, b string) bool {
	ai, err1 := os.Stat(a)
	bi, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(ai, bi)
}

// credentials are --credentials, else what the node already has.
func (in *run) credentials() ([]byte, error) {
	if in.o.Credentials == "" {
		cur, err := in.r.ReadState(nodelayout.Credentials)
		switch {
		case err != nil:
			return nil, err
		case !cur.Exists && in.o.Pod.On():
			return nil, nil // pods pull as their own identity
		case !cur.Exists:
			return nil, fmt.Errorf("the node has no %s: pass --credentials FILE (a service-account key, or a credentials file gcloud writes), or --workload-identity for per-pod identity", nodelayout.Credentials)
		}
		return cur.Content, nil
	}
	b, err := credfile.ReadFile(in.o.Credentials)
	if err != nil {
		return nil, fmt.Errorf("--credentials: %v", err)
	}
	// The same checks the kubelet's gcrcred will make (a node's rules),
	// before the node gets a file it cannot use.
	if _, err := credfile.Parse(b, in.o.Credentials, "--credentials", credfile.Node); err != nil {
		return nil, err
	}
	if err := credfile.CheckKey(b, in.o.Credentials); err != nil {
		return nil, err
	}
	return b, nil
}

// flagsContent is the flags file with the two flags added.
func (in *run) flagsContent() ([]byte, error) {
	f := in.s.Flags
	cur, err := in.r.ReadState(f.Path)
	if err != nil {
		return nil, err
	}
	out, _, err := f.Add(string(cur.Content), nodelayout.KubeletFlags())
	if err != nil {
		return nil, fmt.Errorf("%s: %v", f.Path, err)
	}
	return []byte(out), nil
}

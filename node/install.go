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
	"time"

	"github.com/gcrcred/gcrcred/internal/credfile"
	"github.com/gcrcred/gcrcred/internal/dockerconfig"
	"github.com/gcrcred/gcrcred/internal/nodeexec"
	"github.com/gcrcred/gcrcred/provider"
)

// installer is one run of install (or of uninstall, which shares its
// file and restart steps).
type installer struct {
	ctx context.Context
	r   nodeexec.Root
	o   options
	s   *setup
	n   *notes

	rec       *record
	recBefore []byte         // the record file before this run (nil: none)
	undo      []func() error // puts back what this run changed, newest last

	restartFiles bool // the binary or the provider config changed
	unitChanged  bool // a systemd unit file changed: daemon-reload
	restarted    bool
}

// dirSpec is a directory install makes if it is missing.
type dirSpec struct {
	path     string
	mode     fs.FileMode
	uid, gid int
}

func install(ctx context.Context, o options, out io.Writer) error {
	r := nodeexec.Root{Dir: o.root}
	s, err := detect(r)
	if err != nil {
		return fmt.Errorf("nothing changed: %w", err)
	}
	fmt.Fprintf(out, "kubelet set-up: %s (%s)\n", s.flavour, s.evidence)
	if !o.dryRun && os.Geteuid() != 0 {
		return errors.New("install changes the node's files and restarts its kubelet: run it as root (or with --dry-run to see the plan)")
	}
	in := &installer{ctx: ctx, r: r, o: o, s: s, n: &notes{out: out}}
	if o.pod.On() {
		fmt.Fprintf(out, "%s\n", o.pod.Describe())
		if _, note := podIdentityKubelet(r, s); note != "" {
			in.n.say("%s", note)
		}
		in.n.say("the API server must let kubelets request tokens for audience %q: RBAC verb request-serviceaccounts-token-audience for group system:nodes (deploy/workload-identity)", o.pod.Audience)
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

// plan lists the directories and files install wants, in order (the flags
// last), and what it lacks to write them.
func (in *installer) plan() ([]item, []dirSpec, []string) {
	s, r, o := in.s, in.r, in.o
	var missing []string
	var items []item

	binary, err := in.binary()
	if err != nil {
		missing = append(missing, err.Error())
	}
	pluginPath := path.Join(s.binDir, provider.ProviderName)
	items = append(items, item{path: pluginPath, mode: 0o755, content: binary, restart: true, role: roleFile})
	if s.wrappers || len(o.dockerUsers) > 0 {
		items = append(items,
			item{path: Command, mode: 0o755, content: wrapper(pluginPath), role: roleFile},
			item{path: DockerHelper, mode: 0o755, content: wrapper(pluginPath), role: roleFile})
	}

	creds, err := in.credentials()
	if err != nil {
		missing = append(missing, err.Error())
	}
	if creds != nil || err != nil {
		mode, gid := credentialsAccessFor(r, o.dockerUsers)
		items = append(items, item{path: Credentials, mode: mode, gid: gid, content: creds, role: roleFile})
	}

	copts := configOptions{registries: o.registries}
	if o.pod.On() {
		data, err := o.pod.Read()
		if err != nil {
			missing = append(missing, err.Error())
		}
		if problem, _ := podIdentityKubelet(r, s); problem != "" {
			missing = append(missing, problem)
		}
		copts.pod = &podConfig{audience: o.pod.Audience, require: o.pod.Require, data: data}
		items = append(items, item{path: WorkloadIdentity, mode: WorkloadIdentityMode, content: data, restart: true, role: roleFile})
	} else if rec, _, _ := loadRecord(r); rec != nil && rec.file(WorkloadIdentity) != nil ||
		rec == nil && s.flavour == FlavourMinikube && nodeExists(r, WorkloadIdentity) {
		// Per-pod identity was on: its configuration goes with it (on a
		// minikube VM node, whose record went with its RAM root at a
		// reboot and file sync brought the file back, it is gcrcred's by
		// name).
		items = append(items, item{path: WorkloadIdentity, remove: true, restart: true, role: roleFile})
	}
	var config []byte
	role := roleConfig
	switch {
	case s.configDir != "":
		copts.apiVersion = dirAPIVersion(r, s.configDir)
		config, err = wholeConfig(copts)
	case s.flavour == FlavourProviderConfig || s.flavour == FlavourK3s || s.flavour == FlavourRKE2:
		cur, _, rerr := readState(r, s.config)
		if rerr != nil {
			err = rerr
			break
		}
		config, err = renderConfig(cur.content, cur.exists, s.config, copts)
	default:
		role = roleFile // gcrcred's own file, behind gcrcred's own flags
		config, err = wholeConfig(copts)
	}
	if errors.Is(err, provider.ErrNoTokenAttributes) {
		err = fmt.Errorf("%s: the kubelet reads an older provider config version than per-pod identity needs (%v): install without --workload-identity, or upgrade the kubelet and its provider config", s.config, err)
	}
	if err != nil {
		missing = append(missing, err.Error())
	}
	items = append(items, item{path: s.config, mode: 0o644, content: config, restart: true, role: role, edited: role == roleConfig})

	if s.bootDropIn {
		items = append(items, item{path: BootDropIn, mode: 0o644, content: bootDropIn(o.dockerUsers), unit: true, role: roleBoot})
	}
	if s.flagsFile != "" {
		flags, err := in.flagsContent()
		if err != nil {
			missing = append(missing, err.Error())
		}
		items = append(items, item{path: s.flagsFile, mode: 0o644, content: flags, unit: s.unitFlags(), role: roleFlags, edited: true})
	}

	return items, cacheDirSpecs(r, o.dockerUsers), missing
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
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading the binary to install: %v", err)
	}
	if !bytes.HasPrefix(b, []byte("\x7fELF")) {
		return nil, fmt.Errorf("--binary %s is not a Linux executable: pass a linux gcrcred build (`make dist`)", p)
	}
	return b, nil
}

// credentials are --credentials, else what the node already has.
func (in *installer) credentials() ([]byte, error) {
	if in.o.credentials == "" {
		cur, _, err := readState(in.r, Credentials)
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
	cur, _, err := readState(in.r, in.s.flagsFile)
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

// ensureDir makes d and its missing parents (0755 root), noting each one
// in the record so uninstall removes exactly those.
func (in *installer) ensureDir(d dirSpec) error {
	missing, err := in.missingDirs(d.path)
	if err != nil {
		return err
	}
	for _, p := range missing {
		mode, uid, gid := fs.FileMode(0o755), 0, 0
		if p == d.path {
			mode, uid, gid = d.mode, d.uid, d.gid
		}
		hp, err := in.r.Path(p)
		if err != nil {
			return err
		}
		if err := makeDir(hp, mode, uid, gid); err != nil {
			if _, serr := os.Lstat(hp); serr == nil {
				in.undo = append(in.undo, func() error { return removeCreatedDir(hp, p) })
			}
			return err
		}
		in.undo = append(in.undo, func() error { return removeCreatedDir(hp, p) })
		in.rec.Dirs = append(in.rec.Dirs, p)
		if err := saveRecord(in.r, in.rec); err != nil {
			return err
		}
		in.n.change("new dir   %s  %04o %s", p, mode, ownerName(in.r, uid, gid))
	}
	return nil
}

// missingDirs are p and its parents that do not exist, parents first.
func (in *installer) missingDirs(p string) ([]string, error) {
	var missing []string
	for ; p != "/"; p = path.Dir(p) {
		hp, err := in.r.Path(p)
		if err != nil {
			return nil, err
		}
		fi, err := os.Stat(hp)
		if err == nil {
			if !fi.IsDir() {
				return nil, fmt.Errorf("%s is not a directory", p)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		missing = append([]string{p}, missing...)
	}
	return missing, nil
}

// removeCreatedDir removes a directory gcrcred made: with everything in it
// under gcrcred's state directory (token caches), else only if empty.
func removeCreatedDir(hp, p string) error {
	if p == StateDir || strings.HasPrefix(p, StateDir+"/") {
		return os.RemoveAll(hp)
	}
	err := os.Remove(hp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// wantState is the file an item asks for: its content, and its own mode
// and owner, or for a file of the node's that gcrcred edits, the ones it has.
func wantState(it item, cur fileState) fileState {
	if it.edited && cur.exists {
		return fileState{exists: true, content: it.content, mode: cur.mode, uid: cur.uid, gid: cur.gid}
	}
	return fileState{exists: true, content: it.content, mode: it.mode, uid: it.uid, gid: it.gid}
}

func sameFile(a, b fileState) bool {
	return a.exists == b.exists && bytes.Equal(a.content, b.content) && a.mode == b.mode && a.uid == b.uid && a.gid == b.gid
}

// write puts one item on the node where it differs, recording the file's
// earlier state first.
func (in *installer) write(it item) error {
	cur, hp, err := readState(in.r, it.path)
	if err != nil {
		return err
	}
	if it.remove {
		return in.takeBack(it, cur, hp)
	}
	want := wantState(it, cur)
	if sameFile(cur, want) {
		return in.adopt(it, cur)
	}
	if err := in.ensureDir(dirSpec{path.Dir(it.path), 0o755, 0, 0}); err != nil {
		return err
	}
	if in.rec.file(it.path) == nil {
		in.rec.Files = append(in.rec.Files, &fileRecord{
			Path: it.path, Role: it.role, Unit: it.unit, FlagVar: in.flagVarOf(it),
			Existed: cur.exists, Content: cur.content, Mode: cur.mode, UID: cur.uid, GID: cur.gid,
		})
		if err := saveRecord(in.r, in.rec); err != nil {
			return err
		}
	}
	in.undo = append(in.undo, func() error { return put(hp, cur) })
	if err := put(hp, want); err != nil {
		return err
	}
	in.rec.file(it.path).Written = sum(want.content)
	if err := saveRecord(in.r, in.rec); err != nil {
		return err
	}
	contentChanged := !bytes.Equal(cur.content, want.content) || !cur.exists
	if contentChanged && it.restart {
		in.restartFiles = true
	}
	if contentChanged && it.unit {
		in.unitChanged = true
	}
	in.n.change("%s", describe(in.r, it, cur, want, contentChanged))
	return nil
}

// takeBack gives a file that an earlier install wrote and this one no
// longer wants its state from before that install (on a node without a
// record: none).
func (in *installer) takeBack(it item, cur fileState, hp string) error {
	target := fileState{}
	if f := in.rec.file(it.path); f != nil {
		target = f.before()
	} else if in.recBefore != nil {
		return nil // the record does not say it is gcrcred's
	}
	if sameFile(cur, target) {
		return nil
	}
	in.undo = append(in.undo, func() error { return put(hp, cur) })
	if err := put(hp, target); err != nil {
		return err
	}
	if it.restart {
		in.restartFiles = true
	}
	in.n.change("removed   %s  (no longer asked for)", it.path)
	return nil
}

// adopt records a file that is already as install wants it on a node that
// has no record (a VM node lost it with its RAM root, and file sync put
// gcrcred's files back): as gcrcred's, so that uninstall takes it out again;
// for the flags and a shared config, with what they hold besides gcrcred's.
func (in *installer) adopt(it item, cur fileState) error {
	if in.recBefore != nil || in.rec.file(it.path) != nil {
		return nil
	}
	f := &fileRecord{Path: it.path, Role: it.role, Unit: it.unit, FlagVar: in.flagVarOf(it), Written: sum(cur.content)}
	switch it.role {
	case roleFlags:
		before := cur
		var out string
		if f.FlagVar == "" {
			out, _ = removeExecStartFlags(string(cur.content), KubeletFlags())
		} else {
			out, _ = removeEnvFlags(string(cur.content), f.FlagVar, KubeletFlags())
		}
		before.content = []byte(out)
		f.Existed, f.Content, f.Mode, f.UID, f.GID = true, before.content, cur.mode, cur.uid, cur.gid
	case roleConfig:
		before, err := withoutOurProvider(cur, it.path, false)
		if err != nil {
			return err
		}
		f.Existed, f.Content, f.Mode, f.UID, f.GID = before.exists, before.content, before.mode, before.uid, before.gid
	}
	in.rec.Files = append(in.rec.Files, f)
	return saveRecord(in.r, in.rec)
}

// adoptDirs records gcrcred's own directories that exist on a node without
// a record, parents first (uninstall removes them only if empty, but for
// the state directory).
func (in *installer) adoptDirs(dirs []dirSpec) {
	if in.recBefore != nil {
		return
	}
	own := []string{path.Dir(BinDir), BinDir, ConfigDir}
	for _, d := range dirs {
		own = append(own, d.path)
	}
	for _, p := range own {
		if hp, err := in.r.Path(p); err == nil && !in.rec.hasDir(p) {
			if fi, err := os.Lstat(hp); err == nil && fi.IsDir() {
				in.rec.Dirs = append(in.rec.Dirs, p)
			}
		}
	}
}

func (in *installer) flagVarOf(it item) string {
	if it.role == roleFlags {
		return in.s.flagsVar
	}
	return ""
}

// describe is one plan or change line for a file.
func describe(r nodeexec.Root, it item, cur, want fileState, contentChanged bool) string {
	verb := "replaced "
	switch {
	case !cur.exists:
		verb = "new      "
	case !contentChanged:
		verb = "mode     "
	}
	detail := fmt.Sprintf("%04o %s  %d bytes  sha256:%s", want.mode, ownerName(r, want.uid, want.gid), len(want.content), sum(want.content)[:12])
	if it.role == roleFlags {
		detail += "  (" + flagsDescription(it) + ")"
	}
	return fmt.Sprintf("%s %s  %s", verb, it.path, detail)
}

func flagsDescription(it item) string {
	var fl []string
	for _, f := range KubeletFlags() {
		fl = append(fl, f.String())
	}
	return "kubelet flags " + strings.Join(fl, " ")
}

// restartReason says why the kubelet must restart, "" if it need not: it
// reads its flags, provider config and plugin only at start.
func (in *installer) restartReason() string {
	s := in.s
	switch {
	case in.unitChanged:
		return "its unit changed"
	case in.restartFiles:
		return "its provider config or plugin changed"
	}
	p := findProcess(in.r, s.kubeletComm...)
	switch {
	case p == nil:
		return "it is not running"
	case s.runningFlags != nil && !hasFlags(p.args, s.runningFlags):
		return "it runs without the provider flags"
	}
	if stale, _ := startedBefore(in.r, p, s); stale {
		return "it started before its current provider config"
	}
	return ""
}

// startedBefore reports whether the running kubelet started before the
// provider config or the plugin were last written (it has not read them).
func startedBefore(r nodeexec.Root, p *process, s *setup) (bool, string) {
	if p == nil || p.start.IsZero() {
		return false, ""
	}
	for _, f := range []string{s.config, path.Join(s.binDir, provider.ProviderName)} {
		hp, err := r.Resolve(f)
		if err != nil {
			continue
		}
		if fi, err := os.Stat(hp); err == nil && fi.ModTime().After(p.start.Add(startSlack)) {
			return true, f
		}
	}
	return false, ""
}

// restartService restarts the kubelet's unit through the node's systemctl
// and fails unless it stays up for --kubelet-settle with the flags.
func (in *installer) restartService(why string) error {
	unit := in.s.service
	if in.unitChanged {
		if err := in.systemctl("daemon-reload"); err != nil {
			return err
		}
	}
	// Set before the call: a restart that fails may still have stopped the
	// kubelet, and rollback must then start it again.
	in.restarted = true
	if err := in.systemctl("restart", unit); err != nil {
		return err
	}
	if err := in.settle(unit); err != nil {
		return err
	}
	if in.s.runningFlags != nil {
		if err := in.waitForFlags(unit); err != nil {
			return err
		}
	}
	in.n.change("restarted %s (%s): up for %s", unit, why, in.o.settle)
	return nil
}

// flagsWait bounds how long a restarted kubelet may take to show in /proc
// with its new flags (a service manager may return before it has exec'd).
const flagsWait = 10 * time.Second

// waitForFlags waits until a kubelet with the provider flags runs.
func (in *installer) waitForFlags(unit string) error {
	deadline := time.Now().Add(flagsWait)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		p := findProcess(in.r, in.s.kubeletComm...)
		if p != nil && hasFlags(p.args, in.s.runningFlags) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s restarted, but no kubelet runs with %s after %s", unit, flagList(in.s.runningFlags), flagsWait)
		}
		select {
		case <-tick.C:
		case <-in.ctx.Done():
			return in.ctx.Err()
		}
	}
}

func flagList(flags []Flag) string {
	var s []string
	for _, f := range flags {
		s = append(s, f.String())
	}
	return strings.Join(s, " ")
}

// settle checks that the unit is active now and for --kubelet-settle
// (systemd reports a kubelet that exits at start as activating or failed).
func (in *installer) settle(unit string) error {
	deadline := time.Now().Add(in.o.settle)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		state, err := in.isActive(unit)
		if err != nil {
			return err
		}
		if state != "active" {
			return fmt.Errorf("%s did not stay up after the restart (systemctl is-active: %s)", unit, state)
		}
		if !time.Now().Before(deadline) {
			return nil
		}
		select {
		case <-tick.C:
		case <-in.ctx.Done():
			return in.ctx.Err()
		}
	}
}

func (in *installer) isActive(unit string) (string, error) {
	ctx, cancel := context.WithTimeout(in.ctx, time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := in.r.Command(ctx, "systemctl", "is-active", unit).SetStdout(&out).Run()
	state := strings.TrimSpace(out.String())
	var ee interface{ ExitCode() int }
	if err != nil && !errors.As(err, &ee) {
		return "", fmt.Errorf("asking systemctl about %s: %v", unit, err)
	}
	if state == "" {
		state = "unknown"
	}
	return state, nil
}

func (in *installer) systemctl(args ...string) error {
	ctx, cancel := context.WithTimeout(in.ctx, 2*time.Minute)
	defer cancel()
	return nodeexec.Run(ctx, in.r, "systemctl", args...)
}

// rollback puts back what this run changed, restarts the kubelet with it,
// and returns the cause with what was done.
func (in *installer) rollback(cause error, dockerBefore dockerStates) error {
	// An interrupt that ended the run must not stop the undo.
	in.ctx = context.WithoutCancel(in.ctx)
	var errs []error
	fmt.Fprintf(in.n.out, "  failed: %v\n  rolling back this run's changes\n", cause)
	errs = append(errs, undoNewDocker(in.r, dockerBefore, in.n))
	if hp, err := in.r.Path(RecordFile); err == nil {
		if in.recBefore == nil {
			if err := os.Remove(hp); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		} else {
			errs = append(errs, put(hp, fileState{exists: true, content: in.recBefore, mode: 0o600}))
		}
	}
	for i := len(in.undo) - 1; i >= 0; i-- {
		errs = append(errs, in.undo[i]())
	}
	after := "it was not restarted"
	if in.restarted {
		if in.unitChanged {
			errs = append(errs, in.systemctl("daemon-reload"))
		}
		errs = append(errs, in.systemctl("restart", in.s.service))
		state, _ := in.isActive(in.s.service)
		after = "restarted with them: " + state
	}
	msg := fmt.Sprintf("%v; gcrcred put back the files and flags it had changed (%s); see `journalctl -u %s -n 50` on the node", cause, after, in.s.service)
	if err := errors.Join(errs...); err != nil {
		msg += "; rolling back also failed: " + err.Error()
	}
	return errors.New(msg)
}

// undoNewDocker restores the Docker configs first changed during this run
// (by `node boot` during the restart).
func undoNewDocker(r nodeexec.Root, before dockerStates, n *notes) error {
	st, ok := loadDockerStates(r)
	if !ok {
		return nil
	}
	var errs []error
	for file, state := range st {
		if before[file] == nil {
			errs = append(errs, restoreDockerConfig(r, file, state, n))
			delete(st, file)
		}
	}
	if len(st) == 0 {
		if hp, err := r.Path(dockerStateFile); err == nil {
			errs = append(errs, os.Remove(hp))
		}
	} else {
		errs = append(errs, saveDockerStates(r, st))
	}
	return errors.Join(errs...)
}

// printPlan says what install would do, changing nothing.
func (in *installer) printPlan(items []item, dirs []dirSpec, missing []string) {
	out := in.n.out
	fmt.Fprintln(out, "plan (--dry-run: nothing is changed):")
	planned := map[string]bool{}
	newDirs := func(p string, mode fs.FileMode, uid, gid int) {
		missing, _ := in.missingDirs(p)
		for _, m := range missing {
			if planned[m] {
				continue
			}
			planned[m] = true
			if m != p {
				mode, uid, gid = 0o755, 0, 0
			}
			fmt.Fprintf(out, "  new dir   %s  %04o %s\n", m, mode, ownerName(in.r, uid, gid))
		}
	}
	for _, d := range dirs {
		newDirs(d.path, d.mode, d.uid, d.gid)
	}
	restart := false
	for _, it := range items {
		cur, _, err := readState(in.r, it.path)
		if err != nil {
			fmt.Fprintf(out, "  cannot read %s: %v\n", it.path, err)
			continue
		}
		if it.remove {
			if cur.exists {
				restart = true
				fmt.Fprintf(out, "  remove    %s  (no longer asked for)\n", it.path)
			}
			continue
		}
		newDirs(path.Dir(it.path), 0o755, 0, 0)
		want := wantState(it, cur)
		if it.content == nil {
			fmt.Fprintf(out, "  MISSING   %s  (see below)\n", it.path)
			continue
		}
		if sameFile(cur, want) {
			fmt.Fprintf(out, "  unchanged %s\n", it.path)
			continue
		}
		changed := !bytes.Equal(cur.content, want.content) || !cur.exists
		restart = restart || changed && (it.restart || it.unit || it.role == roleFlags)
		fmt.Fprintf(out, "  %s\n", describe(in.r, it, cur, want, changed))
	}
	in.restartFiles = restart
	if why := in.restartReason(); why != "" {
		fmt.Fprintf(out, "  restart   %s (systemctl restart %s), then check it stays up for %s; if not, put everything back\n", in.s.service, in.s.service, in.o.settle)
	}
	for _, name := range in.o.dockerUsers {
		if u, ok := lookupUser(in.r, name); ok {
			fmt.Fprintf(out, "  docker    %s: credHelpers for %s -> gcrcred\n", path.Join(u.home, ".docker", "config.json"), strings.Join(dockerconfig.DefaultHosts, ", "))
		}
	}
	for _, m := range missing {
		fmt.Fprintf(out, "  missing: %s\n", m)
	}
	fmt.Fprintln(out, "dry run: nothing was changed")
}

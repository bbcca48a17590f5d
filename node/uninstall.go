package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// installedMarkers start the files gcrcred writes whole (wrappers, boot
// drop-in), also those of the minikube installer before `node` existed.
var installedMarkers = []string{"# Installed by \"gcrcred node install\"", "# Installed by \"gcrcred minikube install\""}

// uninstall undoes install: first what the kubelet reads at start (flags,
// shared provider config, boot drop-in) and a restart, so no kubelet is
// left pointing at a file that goes; then Docker, the files, the
// directories, the record.
func uninstall(ctx context.Context, o options, out io.Writer) error {
	if !o.dryRun && !isRoot() {
		return errors.New("uninstall changes the node's files and restarts its kubelet: run it as root")
	}
	r, err := openRoot(o.root)
	if err != nil {
		return err
	}
	defer r.Close()
	rec, _, err := loadRecord(r)
	if err != nil {
		return err
	}
	s, derr := detect(r)
	in := &installer{ctx: ctx, r: r, o: o, s: s, n: &notes{out: out}}
	if rec == nil {
		if derr != nil {
			s = &setup{service: "kubelet", binDir: BinDir, config: ProviderConfig}
			in.s = s
		}
		fmt.Fprintf(out, "no install record (%s) on this node: taking out what is gcrcred's by name\n", RecordFile)
		rec = in.lostRecord()
	} else {
		fmt.Fprintf(out, "undoing install on a %s node (record %s)\n", rec.Flavour, RecordFile)
		if s == nil || s.flavour != rec.Flavour {
			s = &setup{flavour: rec.Flavour, service: rec.Service, config: ProviderConfig, binDir: BinDir}
			in.s = s
		}
		in.s.service = rec.Service
	}

	// 1. What the kubelet reads at start, then a restart.
	for i := len(rec.Files) - 1; i >= 0; i-- {
		if f := rec.Files[i]; f.Role == roleFlags || f.Role == roleConfig || f.Role == roleBoot {
			if err := in.undoFile(f); err != nil {
				return in.rollbackUninstall(err)
			}
		}
	}
	if in.n.changed > 0 && !o.dryRun {
		if err := in.restartWithout(); err != nil {
			return in.rollbackUninstall(err)
		}
	}
	in.undo = nil

	// 2. Docker, the files, the directories.
	var errs []error
	if o.dryRun {
		fmt.Fprintf(out, "  would restore the Docker configs of %s\n", strings.Join(rec.DockerUsers, ", "))
	} else {
		errs = append(errs, undoDocker(r, rec.DockerUsers, in.n))
	}
	for i := len(rec.Files) - 1; i >= 0; i-- {
		if f := rec.Files[i]; f.Role == roleFile {
			errs = append(errs, in.undoFile(f))
		}
	}
	if !o.dryRun {
		for _, p := range []string{RecordFile, dockerStateFile, InstalledFile} {
			errs = append(errs, removeNodeFile(r, p))
		}
	}
	for i := len(rec.Dirs) - 1; i >= 0; i-- {
		errs = append(errs, in.removeDir(rec.Dirs[i]))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%v; rerun `gcrcred node uninstall` when it is fixed", err)
	}
	switch {
	case o.dryRun:
		fmt.Fprintln(out, "dry run: nothing was changed")
	case in.n.changed == 0:
		fmt.Fprintln(out, "unchanged")
	default:
		fmt.Fprintf(out, "removed: %d change(s)\n", in.n.changed)
	}
	return nil
}

// undoFile gives one file back: as it was before install if gcrcred's
// write is still there, else gcrcred's part taken out of what is there now.
func (in *installer) undoFile(f *fileRecord) error {
	cur, err := readState(in.r, f.Path)
	if err != nil {
		return err
	}
	target := f.before()
	if cur.exists && f.Written != "" && sum(cur.content) != f.Written {
		switch f.Role {
		case roleFlags:
			target = cur
			var out string
			if f.FlagVar == "" {
				out, _ = removeExecStartFlags(string(cur.content), KubeletFlags())
			} else {
				out, _ = removeEnvFlags(string(cur.content), f.FlagVar, KubeletFlags())
			}
			target.content = []byte(out)
		case roleConfig:
			target, err = withoutOurProvider(cur, f.Path, f.Existed)
			if err != nil {
				return err
			}
		}
	}
	if sameFile(cur, target) {
		return nil
	}
	if f.Role != roleFile && cur.exists && (cur.uid != 0 || cur.mode&0o022 != 0) {
		return fmt.Errorf("%s is %04o uid %d: gcrcred edits only files root alone can change; fix its owner and mode and rerun", f.Path, cur.mode, cur.uid)
	}
	return in.replace(f.Path, cur, target, f.Unit)
}

// replace puts target at p (or says it would, in a dry run).
func (in *installer) replace(p string, cur, target fileState, unit bool) error {
	verb := "restored"
	switch {
	case !target.exists:
		verb = "removed "
	case !cur.exists:
		verb = "put back"
	}
	if in.o.dryRun {
		in.n.change("would: %s %s", verb, p)
		return nil
	}
	in.undo = append(in.undo, func() error { return put(in.r, p, cur) })
	if err := put(in.r, p, target); err != nil {
		return err
	}
	if unit {
		in.unitChanged = true
	}
	in.n.change("%s %s", verb, p)
	return nil
}

// withoutOurProvider is a provider config with gcrcred's provider taken
// out; a file left with no provider goes if gcrcred made it.
func withoutOurProvider(cur fileState, name string, existed bool) (fileState, error) {
	c, err := parseConfig(cur.content, name)
	if err != nil {
		return cur, err
	}
	out, changed, empty, err := c.withoutOurs()
	if err != nil {
		return cur, err
	}
	if empty && !existed {
		return fileState{}, nil
	}
	if !changed {
		return cur, nil
	}
	target := cur
	target.content = out
	return target, nil
}

// restartWithout restarts the kubelet after its flags, config or boot
// drop-in were put back, and checks it stays up.
func (in *installer) restartWithout() error {
	if in.unitChanged {
		if err := in.systemctl("daemon-reload"); err != nil {
			return err
		}
	}
	in.restarted = true // before the call, as in restartService
	if err := in.systemctl("restart", in.s.service); err != nil {
		return err
	}
	if err := in.settle(in.s.service); err != nil {
		return err
	}
	in.n.change("restarted %s without gcrcred: up for %s", in.s.service, in.o.settle)
	return nil
}

// rollbackUninstall puts the flags back when the kubelet will not start
// without them (or a step failed), so it keeps running as it did.
func (in *installer) rollbackUninstall(cause error) error {
	in.ctx = context.WithoutCancel(in.ctx) // as in rollback
	var errs []error
	for i := len(in.undo) - 1; i >= 0; i-- {
		errs = append(errs, in.undo[i]())
	}
	if in.restarted {
		if in.unitChanged {
			errs = append(errs, in.systemctl("daemon-reload"))
		}
		errs = append(errs, in.systemctl("restart", in.s.service))
	}
	msg := fmt.Sprintf("%v; gcrcred put its flags and config back, so the kubelet runs as before: fix the cause and rerun `gcrcred node uninstall`", cause)
	if err := errors.Join(errs...); err != nil {
		msg += "; putting them back also failed: " + err.Error()
	}
	return errors.New(msg)
}

// removeDir removes a directory install created (its token caches with it).
func (in *installer) removeDir(p string) error {
	if _, err := in.r.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if in.o.dryRun {
		in.n.change("would: removed dir %s", p)
		return nil
	}
	if err := removeCreatedDir(in.r, p); err != nil {
		if entries, _ := dirEntries(in.r, p); len(entries) > 0 {
			in.n.say("left %s: it holds files gcrcred did not put there", p)
			return nil
		}
		return err
	}
	in.n.change("removed  dir %s", p)
	return nil
}

// lostRecord stands in for the record a node lost (a minikube VM's root is
// in RAM; file sync brings gcrcred's files back, not its record): it names
// what is gcrcred's by path and content, as if install had created it.
func (in *installer) lostRecord() *record {
	s, r := in.s, in.r
	rec := &record{Flavour: s.flavour, Service: s.service}
	if s.flavour == FlavourMinikube {
		rec.DockerUsers = MinikubeDockerUsers
	}
	gone := func(p, role string, unit bool, flagVar string) {
		cur, err := readState(r, p)
		if err != nil || !cur.exists {
			return
		}
		rec.Files = append(rec.Files, &fileRecord{Path: p, Role: role, Unit: unit, FlagVar: flagVar, Written: "unknown"})
	}
	for _, f := range []string{MinikubeDropIn} {
		if c, err := readNodeFile(r, f); err == nil {
			if es, ok := effectiveExecStart(c); ok && hasAnyFlag(splitCommand(es.value), KubeletFlags()) {
				rec.Files = append(rec.Files, &fileRecord{Path: f, Role: roleFlags, Unit: true, Existed: true, Written: "unknown"})
			}
		}
	}
	for _, f := range extraArgsFiles {
		if c, err := readNodeFile(r, f); err == nil && hasAnyFlag(splitCommand(parseEnvFile(c)[extraArgsVar]), KubeletFlags()) {
			rec.Files = append(rec.Files, &fileRecord{Path: f, Role: roleFlags, FlagVar: extraArgsVar, Existed: true, Written: "unknown"})
		}
	}
	if s.config != ProviderConfig {
		if c, err := readNodeFile(r, s.config); err == nil {
			if doc, err := parseConfig([]byte(c), s.config); err == nil && slices.Contains(doc.names(), pluginName) {
				rec.Files = append(rec.Files, &fileRecord{Path: s.config, Role: roleConfig, Existed: len(doc.names()) > 1, Written: "unknown"})
			}
		}
		gone(path.Join(s.binDir, pluginName), roleFile, false, "")
	}
	for _, f := range []string{BootDropIn, Command, DockerHelper} {
		if c, err := readNodeFile(r, f); err == nil && hasMarker(c) {
			role := roleFile
			if f == BootDropIn {
				role = roleBoot
			}
			gone(f, role, f == BootDropIn, "")
		}
	}
	for _, f := range []string{Binary, Credentials, WorkloadIdentity, ProviderConfig} {
		gone(f, roleFile, false, "")
	}
	rec.Dirs = []string{path.Dir(BinDir), BinDir, ConfigDir, StateDir}
	return rec
}

func hasMarker(content string) bool {
	for _, m := range installedMarkers {
		if strings.Contains(content, m) {
			return true
		}
	}
	return false
}

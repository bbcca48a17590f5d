package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/node/internal/dockercfg"
	"github.com/gcrcred/gcrcred/node/internal/flavour"
	"github.com/gcrcred/gcrcred/node/internal/kubelet"
	"github.com/gcrcred/gcrcred/node/internal/record"
)

// Uninstall undoes install: first what the kubelet reads at start (flags,
// shared provider config, boot drop-in) and a restart, so no kubelet is
// left pointing at a file that goes; then Docker, the files, the
// directories, the record.
func Uninstall(ctx context.Context, r *noderoot.Root, o Options, out io.Writer) error {
	if !o.DryRun && !isRoot() {
		return errors.New("uninstall changes the node's files and restarts its kubelet: run it as root")
	}
	in, rec, err := startUninstall(ctx, r, o, out)
	if err != nil {
		return err
	}
	if !o.DryRun {
		if err := in.checkSystemctl(); err != nil {
			return err
		}
	}
	if err := in.undoStartFiles(rec); err != nil {
		return in.rollbackUninstall(err)
	}
	in.undo = nil
	if err := in.undoTheRest(rec); err != nil {
		if be := (*record.BackupError)(nil); errors.As(err, &be) {
			return err // it says what to do, the rerun included
		}
		return fmt.Errorf("%v; rerun `gcrcred node uninstall` when it is fixed", err)
	}
	switch {
	case o.DryRun:
		fmt.Fprintln(out, "dry run: nothing was changed")
	case in.n.changed == 0:
		fmt.Fprintln(out, "unchanged")
	default:
		fmt.Fprintf(out, "removed: %d change(s)\n", in.n.changed)
	}
	return nil
}

// startUninstall reads the record, or stands in for one the node lost, and
// the set-up to restart: the one detected, else the one recorded.
func startUninstall(ctx context.Context, r *noderoot.Root, o Options, out io.Writer) (*run, *record.Record, error) {
	rec, _, err := record.Load(r)
	if err != nil {
		return nil, nil, err
	}
	s, derr := flavour.Detect(r, isRoot())
	fallback := func(flavourName, service string) *flavour.Setup {
		return &flavour.Setup{Flavour: flavourName, Service: kubelet.Service{Name: service}, BinDir: nodelayout.BinDir, Config: nodelayout.ProviderConfig}
	}
	in := &run{ctx: ctx, r: r, o: o, s: s, n: &Notes{out: out}}
	if rec == nil {
		if derr != nil {
			in.s = fallback("", "kubelet")
		}
		fmt.Fprintf(out, "no install record (%s) on this node: taking out what is gcrcred's by name\n", nodelayout.RecordFile)
		return in, in.lostRecord(), nil
	}
	fmt.Fprintf(out, "undoing install on a %s node (record %s)\n", rec.Flavour, nodelayout.RecordFile)
	if s == nil || s.Flavour != rec.Flavour {
		in.s = fallback(rec.Flavour, rec.Service)
	}
	in.s.Service.Name = rec.Service
	return in, rec, nil
}

// undoStartFiles puts back what the kubelet reads at start, newest first,
// and restarts it without them.
func (in *run) undoStartFiles(rec *record.Record) error {
	for i := len(rec.Files) - 1; i >= 0; i-- {
		if f := rec.Files[i]; f.Role == record.RoleFlags || f.Role == record.RoleConfig || f.Role == record.RoleBoot {
			if err := in.undoFile(f); err != nil {
				return err
			}
		}
	}
	if in.n.changed == 0 || in.o.DryRun {
		return nil
	}
	if err := in.restart(); err != nil {
		return err
	}
	in.n.Change("restarted %s without gcrcred: up for %s", in.s.Service.Name, in.o.Settle)
	return nil
}

// undoTheRest gives back the Docker configs and the files, removes the
// records, then the backups, then the directories install made; where a
// file could not be given back, the records and backups stay for a rerun.
// The record goes before the backups: a run stopped between the two leaves
// an orphan backup, harmless, rather than a record naming backups that
// are gone (and undoFile needs no backup for a file already given back).
func (in *run) undoTheRest(rec *record.Record) error {
	var errs []error
	if in.o.DryRun {
		fmt.Fprintf(in.n.out, "  would restore the Docker configs of %s\n", strings.Join(rec.DockerUsers, ", "))
	} else {
		errs = append(errs, dockercfg.Undo(in.r, rec.DockerUsers, in.n))
	}
	var fileErrs []error
	for i := len(rec.Files) - 1; i >= 0; i-- {
		if f := rec.Files[i]; f.Role == record.RoleFile {
			fileErrs = append(fileErrs, in.undoFile(f))
		}
	}
	if err := errors.Join(fileErrs...); err != nil {
		// The record and the backups it names stay: a rerun gives back
		// what is left.
		return errors.Join(append(errs, err)...)
	}
	if !in.o.DryRun {
		var stateErrs []error
		for _, p := range []string{nodelayout.RecordFile, nodelayout.DockerStateFile, nodelayout.InstalledFile} {
			stateErrs = append(stateErrs, in.r.RemoveFile(p))
		}
		errs = append(errs, stateErrs...)
		if errors.Join(stateErrs...) == nil {
			errs = append(errs, record.RemoveBackups(in.r))
		}
	}
	for i := len(rec.Dirs) - 1; i >= 0; i-- {
		errs = append(errs, in.removeDir(rec.Dirs[i]))
	}
	return errors.Join(errs...)
}

// undoFile gives one file back: as it was before install if gcrcred's
// write is still there, else gcrcred's part taken out of what is there now.
func (in *run) undoFile(f *record.File) error {
	cur, err := in.r.ReadState(f.Path)
	if err != nil {
		return err
	}
	if f.Restored(cur) {
		return nil
	}
	// Whether what is there now is what gcrcred wrote, hashed once (a
	// plugin binary is MiBs).
	rewritten := cur.Exists && f.Written != "" && record.Sum(cur.Content) != f.Written
	target, err := f.Before(in.r)
	if be := (*record.BackupError)(nil); errors.As(err, &be) && f.Role == record.RoleFile && f.Written != "" &&
		(!cur.Exists || rewritten) {
		// What gcrcred wrote is gone (the user put back the file they
		// want, as the error asks): there is nothing of gcrcred's to undo.
		in.n.Say("left %s as it is: it is not what gcrcred wrote there (%v)", f.Path, be.Cause)
		return nil
	}
	if err != nil {
		return err
	}
	if rewritten {
		switch f.Role {
		case record.RoleFlags:
			out, _ := flagsFileOf(f).Remove(string(cur.Content), nodelayout.KubeletFlags())
			target = cur
			target.Content = []byte(out)
		case record.RoleConfig:
			if target, err = withoutOurProvider(cur, f.Path, f.Existed); err != nil {
				return err
			}
		}
	}
	if cur.Same(target) {
		return nil
	}
	if f.Role != record.RoleFile {
		if err := editable(f.Path, cur); err != nil {
			return err
		}
	}
	return in.replace(f.Path, cur, target, f.Unit)
}

// replace puts target at p (or says it would, in a dry run).
func (in *run) replace(p string, cur, target noderoot.FileState, unit bool) error {
	verb := "restored"
	switch {
	case !target.Exists:
		verb = "removed "
	case !cur.Exists:
		verb = "put back"
	}
	if in.o.DryRun {
		in.n.Change("would: %s %s", verb, p)
		return nil
	}
	in.undo = append(in.undo, func() error { return in.r.Put(p, cur) })
	if err := in.r.Put(p, target); err != nil {
		return err
	}
	in.unitChanged = in.unitChanged || unit
	in.n.Change("%s %s", verb, p)
	return nil
}

// rollbackUninstall puts the flags back when the kubelet will not start
// without them (or a step failed), so it keeps running as it did.
func (in *run) rollbackUninstall(cause error) error {
	in.ctx = context.WithoutCancel(in.ctx) // as in rollback
	msg := fmt.Sprintf("%v; gcrcred put its flags and config back, so the kubelet runs as before: fix the cause and rerun `gcrcred node uninstall`", cause)
	if err := errors.Join(in.putBack()...); err != nil {
		msg += "; putting them back also failed: " + err.Error()
	}
	return errors.New(msg)
}

// removeDir removes a directory install created (its token caches with it).
func (in *run) removeDir(p string) error {
	if _, err := in.r.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if in.o.DryRun {
		in.n.Change("would: removed dir %s", p)
		return nil
	}
	if err := removeCreatedDir(in.r, p); err != nil {
		if entries, _ := in.r.Entries(p); len(entries) > 0 {
			in.n.Say("left %s: it holds files gcrcred did not put there", p)
			return nil
		}
		return err
	}
	in.n.Change("removed  dir %s", p)
	return nil
}

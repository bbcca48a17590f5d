package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/gcrcred/gcrcred/internal/kubeletunit"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/internal/providerconfig"
	"github.com/gcrcred/gcrcred/node/internal/record"
)

// How install puts one file or directory on the node, recording first
// what was there so uninstall (and a rollback) can give it back.

// ensureDir makes d and its missing parents (0755 root), noting each one
// in the record so uninstall removes exactly those.
func (in *run) ensureDir(d dirSpec) error {
	missing, err := in.missingDirs(d.path)
	if err != nil {
		return err
	}
	for _, p := range missing {
		mode, uid, gid := fs.FileMode(0o755), 0, 0
		if p == d.path {
			mode, uid, gid = d.mode, d.uid, d.gid
		}
		if err := in.r.MakeDir(p, mode, uid, gid); err != nil {
			if in.r.Exists(p) {
				in.undo = append(in.undo, func() error { return removeCreatedDir(in.r, p) })
			}
			return err
		}
		in.undo = append(in.undo, func() error { return removeCreatedDir(in.r, p) })
		in.rec.Dirs = append(in.rec.Dirs, p)
		if err := record.Save(in.r, in.rec); err != nil {
			return err
		}
		in.n.Change("new dir   %s  %04o %s", p, mode, in.r.OwnerName(uid, gid))
	}
	return nil
}

// missingDirs are p and its parents that do not exist, parents first.
func (in *run) missingDirs(p string) ([]string, error) {
	var missing []string
	for ; p != "/"; p = path.Dir(p) {
		info, err := in.r.Lstat(p)
		if err == nil {
			if !info.IsDir() {
				return nil, fmt.Errorf("%s is not a directory (%s)", p, info.Mode.Type())
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
func removeCreatedDir(r *noderoot.Root, p string) error {
	d, name, err := r.ParentOf(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	if p == nodelayout.StateDir || strings.HasPrefix(p, nodelayout.StateDir+"/") {
		return d.RemoveAll(name)
	}
	return d.RemoveDir(name)
}

// wantState is the file an item asks for: its content, and its own mode
// and owner, or for a file of the node's that gcrcred edits, the ones it has.
func wantState(it item, cur noderoot.FileState) noderoot.FileState {
	if it.edited && cur.Exists {
		return noderoot.FileState{Exists: true, Content: it.content, Mode: cur.Mode, UID: cur.UID, GID: cur.GID}
	}
	return noderoot.FileState{Exists: true, Content: it.content, Mode: it.mode, UID: it.uid, GID: it.gid}
}

// editable refuses a file of the node's that someone besides root could
// change: gcrcred edits only what root alone can.
func editable(p string, cur noderoot.FileState) error {
	if cur.Exists && (cur.UID != 0 || cur.Mode&0o022 != 0) {
		return fmt.Errorf("%s is %04o uid %d: gcrcred edits only files root alone can change; fix its owner and mode and rerun", p, cur.Mode, cur.UID)
	}
	return nil
}

// write puts one item on the node where it differs, recording the file's
// earlier state first.
func (in *run) write(it item) error {
	cur, err := in.r.ReadState(it.path)
	if err != nil {
		return err
	}
	if it.remove {
		return in.takeBack(it, cur)
	}
	if it.edited {
		if err := editable(it.path, cur); err != nil {
			return err
		}
	}
	want := wantState(it, cur)
	if cur.Same(want) {
		return in.adopt(it, cur)
	}
	if err := in.ensureDir(dirSpec{path.Dir(it.path), 0o755, 0, 0}); err != nil {
		return err
	}
	if in.rec.File(it.path) == nil {
		f := &record.File{
			Path: it.path, Role: it.role, Unit: it.unit, FlagVar: in.flagVarOf(it),
			Existed: cur.Exists, Mode: cur.Mode, UID: cur.UID, GID: cur.GID,
		}
		if err := in.keepBefore(f, cur.Content); err != nil {
			return err
		}
		in.rec.Files = append(in.rec.Files, f)
		if err := record.Save(in.r, in.rec); err != nil {
			return err
		}
	}
	in.undo = append(in.undo, func() error { return in.r.Put(it.path, cur) })
	if err := in.r.Put(it.path, want); err != nil {
		return err
	}
	sum := record.Sum(want.Content) // once: a plugin binary is MiBs
	in.rec.File(it.path).Written = sum
	if err := record.Save(in.r, in.rec); err != nil {
		return err
	}
	contentChanged := !bytes.Equal(cur.Content, want.Content) || !cur.Exists
	in.restartFiles = in.restartFiles || contentChanged && it.restart
	in.unitChanged = in.unitChanged || contentChanged && it.unit
	in.n.Change("%s", in.describe(it, cur, want, sum, contentChanged))
	return nil
}

// takeBack gives a file that an earlier install wrote and this one no
// longer wants its state from before that install (on a node without a
// record: none).
func (in *run) takeBack(it item, cur noderoot.FileState) error {
	target := noderoot.FileState{}
	if f := in.rec.File(it.path); f != nil {
		var err error
		if target, err = f.Before(in.r); err != nil {
			return err
		}
	} else if in.recBefore != nil {
		return nil // the record does not say it is gcrcred's
	}
	if cur.Same(target) {
		return nil
	}
	in.undo = append(in.undo, func() error { return in.r.Put(it.path, cur) })
	if err := in.r.Put(it.path, target); err != nil {
		return err
	}
	in.restartFiles = in.restartFiles || it.restart
	in.n.Change("removed   %s  (no longer asked for)", it.path)
	return nil
}

// keepBefore keeps a file's content from before install for uninstall:
// in the record when it is small text, else (a program at the plugin's
// path) in a backup beside it, so that the record stays small enough to
// be read back. A backup this run wrote goes again if the run is undone.
func (in *run) keepBefore(f *record.File, content []byte) error {
	if !record.Inline(content) {
		if err := in.ensureDir(dirSpec{nodelayout.BackupDir, 0o700, 0, 0}); err != nil {
			return err
		}
	}
	created, err := record.KeepBefore(in.r, f, content)
	if created {
		in.undo = append(in.undo, func() error { return in.r.RemoveFile(f.Backup) })
	}
	return err
}

// adopt records a file that is already as install wants it on a node that
// has no record (a VM node lost it with its RAM root, and file sync put
// gcrcred's files back): as gcrcred's, so that uninstall takes it out again;
// for the flags and a shared config, with what they hold besides gcrcred's.
func (in *run) adopt(it item, cur noderoot.FileState) error {
	if in.recBefore != nil || in.rec.File(it.path) != nil {
		return nil
	}
	f := &record.File{Path: it.path, Role: it.role, Unit: it.unit, FlagVar: in.flagVarOf(it), Written: record.Sum(cur.Content)}
	switch it.role {
	case record.RoleFlags:
		out, _ := flagsFileOf(f).Remove(string(cur.Content), nodelayout.KubeletFlags())
		f.Existed, f.Mode, f.UID, f.GID = true, cur.Mode, cur.UID, cur.GID
		if err := in.keepBefore(f, []byte(out)); err != nil {
			return err
		}
	case record.RoleConfig:
		before, err := withoutOurProvider(cur, it.path, false)
		if err != nil {
			return err
		}
		f.Existed, f.Mode, f.UID, f.GID = before.Exists, before.Mode, before.UID, before.GID
		if err := in.keepBefore(f, before.Content); err != nil {
			return err
		}
	}
	in.rec.Files = append(in.rec.Files, f)
	return record.Save(in.r, in.rec)
}

// adoptDirs records gcrcred's own directories that exist on a node without
// a record, parents first (uninstall removes them only if empty, but for
// the state directory).
func (in *run) adoptDirs(dirs []dirSpec) {
	if in.recBefore != nil {
		return
	}
	own := []string{path.Dir(nodelayout.BinDir), nodelayout.BinDir, nodelayout.ConfigDir}
	for _, d := range dirs {
		own = append(own, d.path)
	}
	for _, p := range own {
		if info, err := in.r.Lstat(p); err == nil && info.IsDir() && !in.rec.HasDir(p) {
			in.rec.Dirs = append(in.rec.Dirs, p)
		}
	}
}

func (in *run) flagVarOf(it item) string {
	if it.role == record.RoleFlags {
		return in.s.Flags.Var
	}
	return ""
}

// flagsFileOf is where a recorded flags file keeps gcrcred's flags.
func flagsFileOf(f *record.File) kubeletunit.FlagsFile {
	return kubeletunit.FlagsFile{Path: f.Path, Var: f.FlagVar}
}

// withoutOurProvider is a provider config with gcrcred's provider taken
// out; a file left with no provider goes if gcrcred made it.
func withoutOurProvider(cur noderoot.FileState, name string, existed bool) (noderoot.FileState, error) {
	c, err := providerconfig.Parse(cur.Content, name)
	if err != nil {
		return cur, err
	}
	out, changed, empty, err := c.WithoutOurs()
	switch {
	case err != nil:
		return cur, err
	case empty && !existed:
		return noderoot.FileState{}, nil
	case !changed:
		return cur, nil
	}
	target := cur
	target.Content = out
	return target, nil
}

// describe is one plan or change line for a file; sum is want's content's.
func (in *run) describe(it item, cur, want noderoot.FileState, sum string, contentChanged bool) string {
	verb := "replaced "
	switch {
	case !cur.Exists:
		verb = "new      "
	case !contentChanged:
		verb = "mode     "
	}
	detail := fmt.Sprintf("%04o %s  %d bytes  sha256:%s", want.Mode, in.r.OwnerName(want.UID, want.GID), len(want.Content), sum[:12])
	if it.role == record.RoleFlags {
		detail += "  (kubelet flags " + kubeletunit.FlagList(nodelayout.KubeletFlags()) + ")"
	}
	return fmt.Sprintf("%s %s  %s", verb, it.path, detail)
}

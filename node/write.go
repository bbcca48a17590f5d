package node

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/gcrcred/gcrcred/internal/noderoot"
)

// How install puts one file or directory on the node, recording first
// what was there so uninstall (and a rollback) can give it back.

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
		if err := makeDir(in.r, p, mode, uid, gid); err != nil {
			if in.r.Exists(p) {
				in.undo = append(in.undo, func() error { return removeCreatedDir(in.r, p) })
			}
			return err
		}
		in.undo = append(in.undo, func() error { return removeCreatedDir(in.r, p) })
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
	cur, err := readState(in.r, it.path)
	if err != nil {
		return err
	}
	if it.remove {
		return in.takeBack(it, cur)
	}
	if it.edited && cur.exists && (cur.uid != 0 || cur.mode&0o022 != 0) {
		return fmt.Errorf("%s is %04o uid %d: gcrcred edits only files root alone can change; fix its owner and mode and rerun", it.path, cur.mode, cur.uid)
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
	in.undo = append(in.undo, func() error { return put(in.r, it.path, cur) })
	if err := put(in.r, it.path, want); err != nil {
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
func (in *installer) takeBack(it item, cur fileState) error {
	target := fileState{}
	if f := in.rec.file(it.path); f != nil {
		target = f.before()
	} else if in.recBefore != nil {
		return nil // the record does not say it is gcrcred's
	}
	if sameFile(cur, target) {
		return nil
	}
	in.undo = append(in.undo, func() error { return put(in.r, it.path, cur) })
	if err := put(in.r, it.path, target); err != nil {
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
		if info, err := in.r.Lstat(p); err == nil && info.IsDir() && !in.rec.hasDir(p) {
			in.rec.Dirs = append(in.rec.Dirs, p)
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
func describe(r *noderoot.Root, it item, cur, want fileState, contentChanged bool) string {
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

package record

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"unicode/utf8"

	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/internal/noderoot"
)

// MaxInline bounds the earlier content the record holds itself: the
// record is read back whole, within noderoot.MaxText, on every run.
const MaxInline = 64 << 10

// Inline reports whether a file's earlier content goes in the record
// itself: small text. Anything else (a program at the plugin's path) goes
// in a backup file beside it.
func Inline(b []byte) bool {
	return len(b) <= MaxInline && utf8.Valid(b) && bytes.IndexByte(b, 0) < 0
}

// backupPath is where content is kept: named by its sha256, which is
// checked when it is read back.
func backupPath(sum string) string { return path.Join(nodelayout.BackupDir, sum) }

// KeepBefore keeps content as f's content before install: in f itself
// when it is small text, else in a backup file in nodelayout.BackupDir
// (which must exist), written atomically and durably, root's and 0600
// (it may be a secret). created reports whether this call wrote the
// backup (one already there with that content is kept).
func KeepBefore(r *noderoot.Root, f *File, content []byte) (created bool, err error) {
	if Inline(content) {
		f.Content = content
		return false, nil
	}
	sum := Sum(content)
	p := backupPath(sum)
	if _, err := readBackup(r, p, sum); err == nil {
		f.Backup, f.BackupSum = p, sum
		return false, nil
	}
	// One there but not as kept (altered, not root's) is replaced, not
	// created: undoing this run must not remove a file it did not make.
	_, statErr := r.Lstat(p)
	existed := !errors.Is(statErr, fs.ErrNotExist)
	if err := r.Put(p, noderoot.FileState{Exists: true, Content: content, Mode: 0o600}); err != nil {
		return false, fmt.Errorf("keeping %s's content from before install: %w", f.Path, err)
	}
	f.Backup, f.BackupSum = p, sum
	return !existed, nil
}

// Restored reports whether cur is already f as it was before install, by
// the sha256 its record keeps of a backup's content: then the backup is
// not needed (an uninstall that stopped after removing the backups but
// before the record finishes without them).
func (f *File) Restored(cur noderoot.FileState) bool {
	return f.Backup != "" && f.Existed && cur.Exists && Sum(cur.Content) == f.BackupSum &&
		cur.Mode == f.Mode && cur.UID == f.UID && cur.GID == f.GID
}

// Before is the file as it was before install first wrote it, its content
// read back from its backup where the record keeps it there. A backup
// that is missing, not root's alone or altered is an error that says
// what to do: gcrcred does not put back content it cannot vouch for.
func (f *File) Before(r *noderoot.Root) (noderoot.FileState, error) {
	st := noderoot.FileState{Exists: f.Existed, Content: f.Content, Mode: f.Mode, UID: f.UID, GID: f.GID}
	if f.Backup == "" {
		return st, nil
	}
	b, err := readBackup(r, f.Backup, f.BackupSum)
	if err != nil {
		return st, &BackupError{File: f, Cause: err}
	}
	st.Content = b
	return st, nil
}

// BackupError is a backup uninstall cannot use. It says the one way out
// that loses nothing: uninstall leaves a file there that is not the one
// gcrcred wrote (see the engine's undoFile), and the rest of the record,
// the other backups with it, is undone as usual.
type BackupError struct {
	File  *File
	Cause error
}

func (e *BackupError) Error() string {
	f := e.File
	return fmt.Sprintf("%v: gcrcred cannot give %s back its content from before install and left it as it is; put the file you want at %s yourself (it was %04o uid %d gid %d), then rerun `gcrcred node uninstall`, which keeps it and undoes the rest", e.Cause, f.Path, f.Path, f.Mode, f.UID, f.GID)
}

func (e *BackupError) Unwrap() error { return e.Cause }

// readBackup reads the backup at p, which must be root's alone and hold
// content whose sha256 is sum.
func readBackup(r *noderoot.Root, p, sum string) ([]byte, error) {
	if !validSum(sum) || p != backupPath(sum) {
		return nil, fmt.Errorf("the record names %s (sha256 %q) as a backup, not %s/SHA256", p, sum, nodelayout.BackupDir)
	}
	b, info, err := r.ReadFile(p, noderoot.MaxBinary)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("the backup %s is missing", p)
	}
	if err == nil {
		err = noderoot.CheckTrusted(p, info)
	}
	if err != nil {
		return nil, err
	}
	if got := Sum(b); got != sum {
		return nil, fmt.Errorf("the backup %s was altered (sha256 %s, the record says %s)", p, got, sum)
	}
	return b, nil
}

// validSum reports whether sum is a sha256 as Sum writes it: 64 lowercase
// hex digits, so a backup's name can be nothing but a file in BackupDir.
func validSum(sum string) bool {
	if len(sum) != 64 {
		return false
	}
	for _, c := range sum {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// RemoveBackups removes the backups, once uninstall has given every file
// back its content.
func RemoveBackups(r *noderoot.Root) error {
	d, name, err := r.ParentOf(nodelayout.BackupDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	return d.RemoveAll(name)
}

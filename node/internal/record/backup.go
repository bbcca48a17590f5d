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
	if err := r.Put(p, noderoot.FileState{Exists: true, Content: content, Mode: 0o600}); err != nil {
		return false, fmt.Errorf("keeping %s's content from before install: %w", f.Path, err)
	}
	f.Backup, f.BackupSum = p, sum
	return true, nil
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
		return st, fmt.Errorf("%v: gcrcred cannot give %s back its content from before install; put the file you want at %s yourself (it was %04o uid %d gid %d), then move %s away and rerun (without it gcrcred takes out only what is its own by name)", err, f.Path, f.Path, f.Mode, f.UID, f.GID, nodelayout.RecordFile)
	}
	st.Content = b
	return st, nil
}

// readBackup reads the backup at p, which must be root's alone and hold
// content whose sha256 is sum.
func readBackup(r *noderoot.Root, p, sum string) ([]byte, error) {
	if path.Dir(p) != nodelayout.BackupDir {
		return nil, fmt.Errorf("the record names %s as a backup, outside %s", p, nodelayout.BackupDir)
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

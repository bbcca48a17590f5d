package record

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/test/testbin"
)

// backupRoot is a node root with the backup directory, root's and 0700.
func backupRoot(t *testing.T) (*noderoot.Root, string) {
	t.Helper()
	testbin.NeedRoot(t) // the backups are root's
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, nodelayout.BackupDir), 0o700); err != nil {
		t.Fatal(err)
	}
	r, err := noderoot.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, dir
}

// TestKeepBeforeCreatedOnlyWhenNew: a backup file already there under the
// content's name but altered is replaced, not reported created (undoing
// the install then would remove a file it did not make); one not there is.
func TestKeepBeforeCreatedOnlyWhenNew(t *testing.T) {
	r, dir := backupRoot(t)
	content := bytes.Repeat([]byte{0, 1, 2}, 40<<10)
	p := filepath.Join(dir, backupPath(Sum(content)))
	if err := os.WriteFile(p, []byte("altered"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &File{Path: "/usr/local/lib/gcrcred/bin/gcrcred"}
	if created, err := KeepBefore(r, f, content); err != nil || created {
		t.Errorf("over an altered backup: created %v, %v; want false", created, err)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, content) {
		t.Error("the altered backup was not replaced")
	}
	other := append([]byte{9}, content...)
	if created, err := KeepBefore(r, &File{Path: f.Path}, other); err != nil || !created {
		t.Errorf("a new backup: created %v, %v; want true", created, err)
	}
}

// TestBackupIsReadOnlyByItsOwnName: a record may name as a backup only
// BackupDir/SHA256 of the content it says, 64 lowercase hex digits.
func TestBackupIsReadOnlyByItsOwnName(t *testing.T) {
	r, dir := backupRoot(t)
	content := bytes.Repeat([]byte{0, 7}, 40<<10)
	sum := Sum(content)
	for _, name := range []string{sum, "other", strings.ToUpper(sum)} {
		if err := os.WriteFile(filepath.Join(dir, nodelayout.BackupDir, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ path, sum string }{
		{nodelayout.BackupDir + "/other", sum},
		{nodelayout.BackupDir + "/" + strings.ToUpper(sum), strings.ToUpper(sum)},
		{nodelayout.BackupDir + "/" + sum + "/", sum},
	} {
		f := &File{Path: "/x", Existed: true, Backup: c.path, BackupSum: c.sum}
		if _, err := f.Before(r); err == nil || !strings.Contains(err.Error(), "SHA256") {
			t.Errorf("backup %s (sha256 %s) read back: %v", c.path, c.sum, err)
		}
	}
	f := &File{Path: "/x", Existed: true, Backup: backupPath(sum), BackupSum: sum}
	if st, err := f.Before(r); err != nil || !bytes.Equal(st.Content, content) {
		t.Errorf("the backup by its own name: %v", err)
	}
}

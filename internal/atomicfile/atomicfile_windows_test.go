package atomicfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gcrcred/gcrcred/test/wintest"
)

// TestWriteFileReplacesOnWindows: an existing file is replaced whole, no
// temporary file is left, and a missing directory is an error.
func TestWriteFileReplacesOnWindows(t *testing.T) {
	dir := wintest.TempDir(t)
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte("old content, longer"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "new" {
		t.Fatalf("got %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "f"), nil, 0o600); err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
}

// TestReadOnlyModeOnWindows: a mode without the owner's write bit is the
// only mode Windows keeps, as the read-only attribute.
func TestReadOnlyModeOnWindows(t *testing.T) {
	path := filepath.Join(wintest.TempDir(t), "ro.json")
	if err := WriteFile(path, []byte("x"), 0o400); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o200 != 0 {
		t.Fatalf("written with 0400: %v, %v", fi.Mode(), err)
	}
	os.Chmod(path, 0o600) // so that the temporary directory can be removed
}

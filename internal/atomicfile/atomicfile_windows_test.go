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

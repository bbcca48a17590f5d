package smallfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte("{}"), 0o600)
	if b, err := Read(good, 2, "credentials file"); err != nil || string(b) != "{}" {
		t.Fatalf("%q %v", b, err)
	}
	if _, err := Read(good, 1, "credentials file"); err == nil || !strings.Contains(err.Error(), "larger than 1 bytes") {
		t.Errorf("oversized: %v", err)
	}
	if _, err := Read(filepath.Join(dir, "missing"), 10, "x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	if _, err := Read(dir, 10, "x"); err == nil || !strings.Contains(err.Error(), "a directory") {
		t.Errorf("directory: %v", err)
	}
	link := filepath.Join(dir, "link")
	os.Symlink(good, link)
	if _, _, err := Open(link, "x", Options{NoFollow: true}); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("link with NoFollow: %v", err)
	}
}

// A FIFO fails at once with a clear error, even with no writer.
func TestFIFODoesNotBlock(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := Read(fifo, 1<<20, "credentials file")
	if err == nil || !strings.Contains(err.Error(), "credentials file "+fifo+" is a named pipe (FIFO), not a regular file") || time.Since(start) > time.Second {
		t.Fatalf("FIFO: %v after %s", err, time.Since(start))
	}
}

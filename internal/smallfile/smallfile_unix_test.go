//go:build !windows

package smallfile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

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

// A link in place of a file opened with NoFollow is refused. (On Windows
// the rule is checked with Lstat; Wine cannot make such links.)
func TestNoFollowRefusesALink(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte("{}"), 0o600)
	link := filepath.Join(dir, "link")
	os.Symlink(good, link)
	if _, _, err := Open(link, "x", Options{NoFollow: true}); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("link with NoFollow: %v", err)
	}
}

// A file whose size says 0 but that has content (/proc) is read whole.
func TestReadUpToSizeZeroFile(t *testing.T) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc here:", err)
	}
	defer f.Close()
	b, err := ReadUpTo(f, 1<<20)
	if err != nil || !strings.Contains(string(b), "\nPid:") {
		t.Errorf("/proc/self/status: %d bytes, %v", len(b), err)
	}
}

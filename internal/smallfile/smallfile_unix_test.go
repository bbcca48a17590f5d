//go:build !windows

package smallfile

import (
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

//go:build !windows

package credfile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A subject token file that is a FIFO is refused before x/oauth2 would
// block opening it.
func TestSubjectTokenFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "token")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	err := CheckSubjectTokenFile(js(federation(map[string]any{"file": fifo}, nil)))
	if err == nil || !strings.Contains(err.Error(), "named pipe") {
		t.Fatalf("FIFO subject token: %v", err)
	}
	regular := filepath.Join(dir, "ok")
	os.WriteFile(regular, []byte("t"), 0o600)
	if err := CheckSubjectTokenFile(js(federation(map[string]any{"file": regular}, nil))); err != nil {
		t.Fatal(err)
	}
}

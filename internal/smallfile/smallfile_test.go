package smallfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/test/wintest"
)

func TestRead(t *testing.T) {
	dir := wintest.TempDir(t)
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
}

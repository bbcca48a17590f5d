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

// TestReadUpTo: exactly the file when it fits, n bytes when it does not,
// nothing for n <= 0.
func TestReadUpTo(t *testing.T) {
	dir := wintest.TempDir(t)
	content := strings.Repeat("0123456789", 1000)
	for _, c := range []struct {
		name, content string
		n             int64
		want          string
	}{
		{"fits", content, 20000, content},
		{"exactly", content, 10000, content},
		{"larger than n", content, 4096, content[:4096]},
		{"empty", "", 10, ""},
		{"n is 0", content, 0, ""},
		{"n is negative", content, -1, ""},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
		if err := os.WriteFile(p, []byte(c.content), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ReadUpTo(f, c.n)
		f.Close()
		if err != nil || string(b) != c.want {
			t.Errorf("%s: %d bytes, %v; want %d bytes", c.name, len(b), err, len(c.want))
		}
	}
}

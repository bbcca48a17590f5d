package nodeexec

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Paths resolve inside the root: an absolute link points into it, ".."
// stops at it, and the last element is followed only by Resolve.
func TestRootPathStaysInside(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"usr/lib", "run", "etc"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.Symlink("usr/lib", filepath.Join(dir, "lib"))       // merged /usr, relative
	os.Symlink("/run", filepath.Join(dir, "var-run"))      // absolute: the root's /run
	os.Symlink("/etc/shadow", filepath.Join(dir, "etc/x")) // absolute, last element
	r := Root{Dir: dir}
	for in, want := range map[string]string{
		"/lib/systemd/system":      "/usr/lib/systemd/system",
		"/var-run/systemd/private": "/run/systemd/private",
		"/../../etc/passwd":        "/etc/passwd",
		"/etc/x":                   "/etc/x",
	} {
		got, err := r.Path(in)
		if err != nil || got != filepath.Join(dir, want) {
			t.Errorf("Path(%q) = %q, %v; want %q", in, got, err, filepath.Join(dir, want))
		}
	}
	if got, _ := r.Resolve("/etc/x"); got != filepath.Join(dir, "etc/shadow") {
		t.Errorf("Resolve(/etc/x) = %q, want the root's /etc/shadow", got)
	}
	if _, err := r.Path("relative"); err == nil {
		t.Error("a relative node path resolved")
	}
}

func TestHostRootRunsWithoutChroot(t *testing.T) {
	r := Root{Dir: "/"}
	out, err := Output(context.Background(), r, "sh", "-c", "echo $PATH")
	if err != nil || strings.TrimSpace(out) != DefaultPath {
		t.Errorf("sh on / printed %q, %v", out, err)
	}
	err = Run(context.Background(), r, "sh", "-c", "echo broken >&2; exit 3")
	if err == nil || !strings.Contains(err.Error(), "broken") || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("a failing command: %v", err)
	}
	if err := Run(context.Background(), Root{Dir: t.TempDir()}, "no-such-command"); err == nil || !strings.Contains(err.Error(), "not found on the node") {
		t.Errorf("a missing command: %v", err)
	}
}

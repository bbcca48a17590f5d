package noderoot

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/test/testbin"
)

// modes runs f with a root opened through openat2 and with one that walks
// (the fallback where the kernel or a seccomp filter lacks openat2).
func modes(t *testing.T, f func(t *testing.T, dir string, open func() *Root)) {
	for _, walk := range []bool{false, true} {
		name := "openat2"
		if walk {
			name = "walk"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			open := func() *Root {
				forceWalk = walk
				defer func() { forceWalk = false }()
				r, err := Open(dir)
				if err != nil {
					t.Fatal(err)
				}
				if r.Walks() != walk {
					t.Fatalf("Walks() = %v, want %v", r.Walks(), walk)
				}
				t.Cleanup(func() { r.Close() })
				return r
			}
			f(t, dir, open)
		})
	}
}

func write(t *testing.T, p, content string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func TestLinksAndDotDotAreRefused(t *testing.T) {
	modes(t, func(t *testing.T, dir string, open func() *Root) {
		outside := t.TempDir()
		write(t, filepath.Join(outside, "shadow"), "outside", 0o600)
		write(t, filepath.Join(dir, "etc/real/file"), "inside", 0o644)
		write(t, filepath.Join(dir, "etc/shadow"), "root's", 0o600)
		must(t, os.Symlink("real", filepath.Join(dir, "etc/rel")))
		must(t, os.Symlink(outside, filepath.Join(dir, "etc/abs")))
		must(t, os.Symlink("/etc/shadow", filepath.Join(dir, "etc/final")))
		r := open()

		if b, _, err := r.ReadFile("/etc/real/file", 100); err != nil || string(b) != "inside" {
			t.Fatalf("a plain path: %q %v", b, err)
		}
		for p, link := range map[string]string{
			"/etc/rel/file":   "/etc/rel",
			"/etc/abs/shadow": "/etc/abs",
			"/etc/final":      "/etc/final",
		} {
			_, _, err := r.ReadFile(p, 100)
			var le *LinkError
			if !errors.As(err, &le) || le.Path != link {
				t.Errorf("%s: %v, want a LinkError naming %s", p, err, link)
			}
		}
		if _, _, err := r.ReadFile("/etc/real/../shadow", 100); err == nil || !strings.Contains(err.Error(), `".."`) {
			t.Errorf("a path with ..: %v", err)
		}
		if _, err := r.OpenDir("/etc/abs"); err == nil {
			t.Error("opened a link as a directory")
		}
		if info, err := r.Lstat("/etc/final"); err != nil || info.Mode&fs.ModeSymlink == 0 {
			t.Errorf("Lstat of a link: %v %v", info.Mode, err)
		}
	})
}

func TestReadsNeverBlockAndAreBounded(t *testing.T) {
	modes(t, func(t *testing.T, dir string, open func() *Root) {
		must(t, os.MkdirAll(filepath.Join(dir, "etc"), 0o755))
		must(t, syscall.Mkfifo(filepath.Join(dir, "etc/fifo"), 0o644))
		write(t, filepath.Join(dir, "etc/big"), strings.Repeat("x", 101), 0o644)
		r := open()
		done := make(chan error, 1)
		go func() { _, _, err := r.ReadFile("/etc/fifo", 100); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "/etc/fifo is a named pipe (FIFO), not a regular file") {
				t.Errorf("a FIFO: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("reading a FIFO blocked")
		}
		if _, _, err := r.ReadFile("/etc/big", 100); err == nil || !strings.Contains(err.Error(), "larger than 100 bytes") {
			t.Errorf("a file over the limit: %v", err)
		}
		if b, _, err := r.ReadFile("/etc/big", 101); err != nil || len(b) != 101 {
			t.Errorf("a file at the limit: %d %v", len(b), err)
		}
	})
}

func TestCheckPathNamesTheComponent(t *testing.T) {
	testbin.NeedRoot(t) // components are given owners
	modes(t, func(t *testing.T, dir string, open func() *Root) {
		for _, d := range []struct {
			p    string
			mode fs.FileMode
			uid  int
		}{{"srv", 0o755, 0}, {"srv/user", 0o755, 65532}, {"srv/user/bin", 0o755, 0}, {"opt", 0o775, 0}, {"opt/bin", 0o755, 0}, {"tmp", 0o777 | fs.ModeSticky, 0}, {"etc", 0o755, 0}} {
			p := filepath.Join(dir, d.p)
			must(t, os.Mkdir(p, 0o700))
			must(t, os.Chown(p, d.uid, d.uid))
			must(t, os.Chmod(p, d.mode))
		}
		r := open()
		for p, bad := range map[string]string{
			"/srv/user/bin/gcrcred": "/srv/user is 0755 uid 65532",
			"/opt/bin":              "/opt is 0775 uid 0",
			"/tmp/x":                "/tmp is 0777 uid 0",
		} {
			if err := r.CheckPath(p); err == nil || !strings.HasPrefix(err.Error(), bad) {
				t.Errorf("CheckPath(%s) = %v, want it to start %q", p, err, bad)
			}
			if _, err := r.OpenTrustedDir(p); err == nil {
				t.Errorf("OpenTrustedDir(%s) opened it", p)
			}
		}
		if err := r.CheckPath("/etc/gcrcred/missing/file"); err != nil {
			t.Errorf("a path whose tail is missing: %v", err)
		}
	})
}

func TestDirOperationsStayInTheDirectory(t *testing.T) {
	testbin.NeedRoot(t) // only root-owned directories are written into
	modes(t, func(t *testing.T, dir string, open func() *Root) {
		outside := t.TempDir()
		write(t, filepath.Join(outside, "keep"), "keep", 0o644)
		must(t, os.MkdirAll(filepath.Join(dir, "var/lib"), 0o755))
		r := open()
		d, err := r.OpenTrustedDir("/var/lib")
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		must(t, d.Mkdir("state", 0o750, 0, 65532))
		if fi, err := os.Stat(filepath.Join(dir, "var/lib/state")); err != nil || fi.Mode().Perm() != 0o750 || fi.Sys().(*syscall.Stat_t).Gid != 65532 {
			t.Fatalf("Mkdir made %v (%v)", fi.Mode(), err)
		}
		sub, err := d.OpenDir("state")
		must(t, err)
		must(t, sub.WriteFile("f", []byte("data"), 0o600, nil))
		must(t, os.Symlink(outside, filepath.Join(dir, "var/lib/state/link")))
		sub.Close()
		if err := d.RemoveAll("state"); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(filepath.Join(dir, "var/lib/state")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("RemoveAll left %v", err)
		}
		if b, err := os.ReadFile(filepath.Join(outside, "keep")); err != nil || string(b) != "keep" {
			t.Errorf("RemoveAll reached a link's target: %v", err)
		}
	})
}

// TestSwappedDirectoryIsNeverFollowed: another user swaps a directory of
// theirs for a link to a root-only one while files are read and written
// through the root: nothing is read from or written into the target.
func TestSwappedDirectoryIsNeverFollowed(t *testing.T) {
	modes(t, func(t *testing.T, dir string, open func() *Root) {
		etc := filepath.Join(dir, "etc")
		write(t, filepath.Join(etc, "shadow"), "root's", 0o600)
		user := filepath.Join(dir, "home/user")
		must(t, os.MkdirAll(filepath.Join(user, "d"), 0o755))
		write(t, filepath.Join(user, "d/shadow"), "user's", 0o644)
		r := open()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				os.Rename(filepath.Join(user, "d"), filepath.Join(user, "d.real"))
				os.Symlink("/etc", filepath.Join(user, "d"))
				os.Remove(filepath.Join(user, "d"))
				os.Rename(filepath.Join(user, "d.real"), filepath.Join(user, "d"))
			}
		}()
		for i := 0; i < 2000; i++ {
			if b, _, err := r.ReadFile("/home/user/d/shadow", 100); err == nil && string(b) != "user's" {
				t.Fatalf("read %q through a swapped link", b)
			}
			if d, err := r.OpenDir("/home/user/d"); err == nil {
				d.WriteFile("written", []byte("x"), 0o644, nil)
				d.Close()
			}
		}
		close(stop)
		wg.Wait()
		if _, err := os.Lstat(filepath.Join(etc, "written")); err == nil {
			t.Fatal("a write went through the swapped link into /etc")
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

//go:build !windows

package privdir

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestOpenCreatesAPrivateDirectoryAndRefusesOthers(t *testing.T) {
	base := t.TempDir()
	d, err := Open(filepath.Join(base, "a", "b"), true)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if fi, _ := os.Stat(filepath.Join(base, "a", "b")); fi.Mode().Perm() != 0o700 {
		t.Fatalf("made %v, want 0700", fi.Mode().Perm())
	}
	shared := filepath.Join(base, "shared")
	os.Mkdir(shared, 0o777)
	os.Chmod(shared, 0o777)
	link := filepath.Join(base, "link")
	os.Symlink(filepath.Join(base, "a", "b"), link)
	for _, c := range []struct{ name, path, want string }{
		{"missing", filepath.Join(base, "none"), "no such file"},
		{"group and world writable", shared, "writable"},
		{"symbolic link", link, "symbolic link"},
		{"none given", "", "no directory"},
	} {
		if _, err := Open(c.path, false); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
	if fi, _ := os.Stat(shared); fi.Mode().Perm() != 0o777 {
		t.Fatalf("a directory gcrcred did not make was chmodded to %v", fi.Mode().Perm())
	}
}

func TestFilesAreBelievedOnlyIfThisUserWroteThem(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.WriteFile("good.json", []byte("ok")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "good.json")); fi.Mode().Perm() != FileMode {
		t.Fatalf("wrote %v, want 0600", fi.Mode().Perm())
	}
	os.WriteFile(filepath.Join(dir, "loose.json"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(t.TempDir(), "target"), []byte("x"), 0o600)
	os.Symlink(filepath.Join(dir, "good.json"), filepath.Join(dir, "link.json"))
	syscall.Mkfifo(filepath.Join(dir, "fifo.json"), 0o600)
	os.WriteFile(filepath.Join(dir, "big.json"), make([]byte, 100), 0o600)
	if b, err := d.ReadFile("good.json", 10); err != nil || string(b) != "ok" {
		t.Fatalf("good.json: %q, %v", b, err)
	}
	for _, name := range []string{"loose.json", "link.json", "fifo.json", "big.json", "none.json"} {
		start := time.Now()
		if b, err := d.ReadFile(name, 10); err == nil {
			t.Errorf("%s believed: %q", name, b)
		}
		if time.Since(start) > time.Second {
			t.Errorf("%s: reading took %s", name, time.Since(start))
		}
	}
	names, err := d.Names()
	if err != nil || !contains(names, "good.json") || contains(names, "link.json") || contains(names, "fifo.json") {
		t.Fatalf("Names = %v, %v: want the regular files only", names, err)
	}
	if err := d.Remove("good.json"); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove("good.json"); err != nil {
		t.Fatalf("removing what is gone: %v", err)
	}
}

func TestLockWaitsThenGivesUp(t *testing.T) {
	d, err := Open(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	unlock, err := d.Lock("x.lock", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Open(d.Path(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	start := time.Now()
	if _, err := other.Lock("x.lock", 100*time.Millisecond); err == nil || time.Since(start) > time.Second {
		t.Fatalf("a held lock was taken (%v) or the wait ran over (%s)", err, time.Since(start))
	}
	unlock()
	u2, err := other.Lock("x.lock", 100*time.Millisecond)
	if err != nil {
		t.Fatalf("a released lock was not taken: %v", err)
	}
	u2()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

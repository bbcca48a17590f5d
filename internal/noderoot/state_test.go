package noderoot

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gcrcred/gcrcred/test/testbin"
)

// TestPutAndReadState: a file put is read back as it was put (content,
// mode, owner); putting the same bytes again writes nothing (the same
// inode); a link or a FIFO is never read as a file's state; a directory
// another user can write into is never written into; putting an absent
// state removes the file.
func TestPutAndReadState(t *testing.T) {
	testbin.NeedRoot(t) // files are put with owners
	modes(t, func(t *testing.T, dir string, open func() *Root) {
		must(t, os.MkdirAll(filepath.Join(dir, "etc/gcrcred"), 0o755))
		r := open()
		want := FileState{Exists: true, Content: []byte("x=1\n"), Mode: 0o640, UID: 0, GID: 65532}
		must(t, r.Put("/etc/gcrcred/f", want))
		got, err := r.ReadState("/etc/gcrcred/f")
		if err != nil || !got.Same(want) {
			t.Fatalf("read back %+v (%v), want %+v", got, err, want)
		}
		before, _ := os.Stat(filepath.Join(dir, "etc/gcrcred/f"))
		must(t, r.PutIfChanged("/etc/gcrcred/f", want.Content, want.Mode))
		after, _ := os.Stat(filepath.Join(dir, "etc/gcrcred/f"))
		if !os.SameFile(before, after) {
			t.Error("PutIfChanged rewrote a file that held its bytes")
		}

		must(t, os.Symlink("f", filepath.Join(dir, "etc/gcrcred/link")))
		must(t, syscall.Mkfifo(filepath.Join(dir, "etc/gcrcred/fifo"), 0o600))
		for _, p := range []string{"/etc/gcrcred/link", "/etc/gcrcred/fifo"} {
			if _, err := r.ReadState(p); err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("ReadState(%s): %v", p, err)
			}
		}

		must(t, os.MkdirAll(filepath.Join(dir, "srv/user"), 0o755))
		must(t, os.Chown(filepath.Join(dir, "srv/user"), 65532, 65532))
		var untrusted *UntrustedError
		if err := r.Put("/srv/user/f", want); !errors.As(err, &untrusted) {
			t.Errorf("Put into another user's directory: %v", err)
		}
		must(t, r.RemoveFile("/etc/gcrcred/f"))
		if _, err := os.Lstat(filepath.Join(dir, "etc/gcrcred/f")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("RemoveFile left %v", err)
		}
	})
}

func TestUsers(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "etc/passwd"), "# users\nroot:x:0:0::/root:/bin/sh\ndocker:x:1000:999::/home/docker:/bin/sh\n", 0o644)
	write(t, filepath.Join(dir, "etc/group"), "root:x:0:\ndocker:x:999:docker\n", 0o644)
	r, err := Open(dir)
	must(t, err)
	defer r.Close()
	if u, ok := r.LookupUser("docker"); !ok || u.UID != 1000 || u.GID != 999 || u.Home != "/home/docker" {
		t.Errorf("docker: %+v %v", u, ok)
	}
	if _, ok := r.LookupUser("nobody"); ok {
		t.Error("found a user the node does not have")
	}
	if gid, ok := r.LookupGroup("docker"); !ok || gid != 999 {
		t.Errorf("group docker: %d %v", gid, ok)
	}
	if got := r.OwnerName(0, 999); got != "root:docker" {
		t.Errorf("owner name %q", got)
	}
	if got := r.OwnerName(5, 6); got != "5:6" {
		t.Errorf("owner name without names %q", got)
	}
}

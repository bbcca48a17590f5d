package nodeexec

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gcrcred/gcrcred/test/fakeminikube/fakecluster"
	"github.com/gcrcred/gcrcred/test/testbin"
)

// attacker is the second, unprivileged user of the trust tests.
const attacker = 65532

// put makes a node file (and its directories, root's 0755) with an owner
// and mode.
func put(t *testing.T, root, p string, content []byte, mode fs.FileMode, uid int) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, content, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(full, uid, uid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(full, mode); err != nil {
		t.Fatal(err)
	}
}

// TestLookPathFindsOnlyWhatRootAloneCanChange: a command is found in the
// node's directories without following a link but merged /usr's (/bin
// is looked in as /usr/bin), and a linked directory is not looked in;
// the first one found is refused, named, unless it is a regular file
// root alone can change in directories root alone can change: another
// user's, group-writable, a link (even to a good program), a FIFO, or in
// another user's directory. A refused command never runs.
func TestLookPathFindsOnlyWhatRootAloneCanChange(t *testing.T) {
	testbin.NeedRoot(t)
	dir := t.TempDir()
	script := []byte("#!/bin/sh\ntouch /ran\n")
	put(t, dir, "usr/bin/systemctl", script, 0o755, 0)
	must(t, os.Symlink("usr/bin", filepath.Join(dir, "bin")))
	put(t, dir, "srv/attacker/systemctl", script, 0o755, attacker)
	must(t, os.MkdirAll(filepath.Join(dir, "usr/local"), 0o755))
	must(t, os.Symlink("../../srv/attacker", filepath.Join(dir, "usr/local/sbin")))
	r := Root{Dir: dir}
	for name, want := range map[string]string{"systemctl": "/usr/bin/systemctl", "/bin/systemctl": "/usr/bin/systemctl", "/usr/bin/systemctl": "/usr/bin/systemctl"} {
		if p, err := r.LookPath(name); err != nil || p != want {
			t.Errorf("LookPath(%s) = %q, %v; want %s", name, p, err, want)
		}
	}

	put(t, dir, "usr/sbin/owned", script, 0o755, attacker)
	put(t, dir, "usr/sbin/groupw", script, 0o775, 0)
	must(t, os.Symlink("/usr/bin/systemctl", filepath.Join(dir, "usr/sbin/link")))
	must(t, syscall.Mkfifo(filepath.Join(dir, "usr/sbin/fifo"), 0o755))
	put(t, dir, "usr/local/bin/indir", script, 0o755, 0)
	must(t, os.Chown(filepath.Join(dir, "usr/local/bin"), attacker, attacker))
	put(t, dir, "usr/bin/owned", script, 0o755, 0) // behind the refused one
	for name, want := range map[string]string{
		"owned":  "/usr/sbin/owned is 0755 uid 65532",
		"groupw": "/usr/sbin/groupw is 0775 uid 0",
		"link":   "/usr/sbin/link is a symbolic link",
		"fifo":   "/usr/sbin/fifo is a named pipe",
		"indir":  "/usr/local/bin is 0755 uid 65532",
	} {
		if p, err := r.LookPath(name); err == nil || !strings.Contains(err.Error(), "not running the node's "+name+" as root: "+want) {
			t.Errorf("LookPath(%s) = %q, %v; want a refusal naming %q", name, p, err, want)
		}
		if err := Run(context.Background(), r, name); err == nil {
			t.Errorf("%s ran", name)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "ran")); err == nil {
		t.Error("a refused command ran")
	}
}

// TestCommandsRunChrootedInTheRoot: a command runs inside the root, in
// "/", with only PATH set; a failure carries its stderr; a command the
// node lacks is not found.
func TestCommandsRunChrootedInTheRoot(t *testing.T) {
	fakecluster.Require(t)
	dir := t.TempDir()
	shell, err := os.ReadFile(filepath.Join(fakecluster.Build(t), "userland", "userland"))
	must(t, err)
	put(t, dir, "usr/bin/sh", shell, 0o755, 0)
	r := Root{Dir: dir}
	out, err := Output(context.Background(), r, "sh", "-c", "echo $PATH; pwd")
	if err != nil || out != DefaultPath+"\n/\n" {
		t.Errorf("sh in the root printed %q, %v", out, err)
	}
	err = Run(context.Background(), r, "sh", "-c", "echo broken >&2; exit 3")
	if err == nil || !strings.Contains(err.Error(), "broken") || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("a failing command: %v", err)
	}
	if err := Run(context.Background(), r, "no-such-command"); err == nil || !strings.Contains(err.Error(), "not found on the node") {
		t.Errorf("a missing command: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

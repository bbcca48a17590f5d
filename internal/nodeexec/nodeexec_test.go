package nodeexec

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// LookPath looks in the node's directories without following a link: a
// command under a linked directory (merged /usr's /bin) is found at its
// /usr path instead.
func TestLookPathFollowsNoLink(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"usr/bin", "usr/sbin"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.Symlink("usr/bin", filepath.Join(dir, "bin"))
	os.WriteFile(filepath.Join(dir, "usr/bin/systemctl"), []byte("#!/bin/sh\n"), 0o755)
	os.Symlink("/elsewhere", filepath.Join(dir, "usr/sbin/linked"))
	r := Root{Dir: dir}
	if p, err := r.LookPath("systemctl"); err != nil || p != "/usr/bin/systemctl" {
		t.Errorf("LookPath(systemctl) = %q, %v", p, err)
	}
	if p, err := r.LookPath("linked"); err != nil || p != "/usr/sbin/linked" {
		t.Errorf("a command that is itself a link is the node's to run: %q, %v", p, err)
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

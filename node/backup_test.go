package node_test

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gcrcred/gcrcred/node/internal/record"
)

// TestLargePriorPluginIsKeptOutsideTheRecord: a node that already has a
// 6 MiB program at the plugin's path (a gcrcred put there by hand, or by
// an install whose record was lost): install keeps it aside for uninstall
// without putting it in the install record, which stays small; a rerun
// reads the record back and changes nothing, the record included; uninstall
// puts the program back byte for byte, with its mode and owner, and leaves
// no copy of it behind.
func TestLargePriorPluginIsKeptOutsideTheRecord(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "kubeadm")
	prior := make([]byte, 6<<20)
	copy(prior, "\x7fELF")
	if _, err := rand.Read(prior[4:]); err != nil {
		t.Fatal(err)
	}
	plugin := filepath.Join(w.n.Root, "usr/local/lib/gcrcred/bin/gcrcred")
	w.mkdir("usr/local/lib/gcrcred", 0o755, 0)
	w.mkdir("usr/local/lib/gcrcred/bin", 0o755, 0)
	must(t, os.WriteFile(plugin, prior, 0o750))
	must(t, os.Chown(plugin, 0, 1000))
	must(t, os.Chmod(plugin, 0o750))
	before := w.n.Tree()

	w.install()
	record := w.record()
	if len(record) > 64<<10 || bytes.Contains(record, prior[:64]) {
		t.Errorf("the install record holds the earlier program: %d bytes", len(record))
	}
	installed, stamps := w.n.Tree(), w.n.Stamps()
	if out := w.must("install", "--kubelet-settle", "0s"); lastLine(out) != "unchanged" {
		t.Errorf("a rerun changed something:\n%s", out)
	}
	w.sameTree("a rerun", installed)
	w.notRewritten("a rerun", stamps, record)

	// A backup that is not what install kept is not put back: uninstall
	// says so and keeps its record, and a rerun once it is fixed finishes.
	backups, err := filepath.Glob(filepath.Join(w.n.Root, "var/lib/gcrcred/backup/*"))
	if err != nil || len(backups) != 1 {
		t.Fatalf("backups %v (%v), want one", backups, err)
	}
	if fi := mustStat(t, backups[0]); fi.Mode().Perm() != 0o600 || fi.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Errorf("the backup is %v uid %d, want 0600 root's", fi.Mode(), fi.Sys().(*syscall.Stat_t).Uid)
	}
	must(t, os.WriteFile(backups[0], []byte("altered"), 0o600))
	if out, code := w.gcrcred("uninstall", "--kubelet-settle", "0s"); code == 0 || !strings.Contains(out, "was altered") || !strings.Contains(out, "put the file you want at /usr/local/lib/gcrcred/bin/gcrcred yourself") {
		t.Errorf("uninstall with an altered backup: exit %d\n%s", code, out)
	}
	w.record()
	must(t, os.WriteFile(backups[0], prior, 0o600))
	w.must("uninstall", "--kubelet-settle", "0s")
	got, err := os.ReadFile(plugin)
	if err != nil || !bytes.Equal(got, prior) {
		t.Fatalf("uninstall did not put the earlier program back byte for byte (%d bytes, %v)", len(got), err)
	}
	if fi := mustStat(t, plugin); fi.Mode().Perm() != 0o750 || fi.Sys().(*syscall.Stat_t).Gid != 1000 {
		t.Errorf("the earlier program came back %v gid %d", fi.Mode(), fi.Sys().(*syscall.Stat_t).Gid)
	}
	w.sameTree("install then uninstall", before)
}

// priorProgram puts a 1 MiB program that is not gcrcred at the plugin's
// path, 0750 root:1000, and returns its path and content.
func (w *world) priorProgram() (string, []byte) {
	w.t.Helper()
	prior := make([]byte, 1<<20)
	copy(prior, "\x7fELF")
	if _, err := rand.Read(prior[4:]); err != nil {
		w.t.Fatal(err)
	}
	plugin := filepath.Join(w.n.Root, "usr/local/lib/gcrcred/bin/gcrcred")
	w.mkdir("usr/local/lib/gcrcred", 0o755, 0)
	w.mkdir("usr/local/lib/gcrcred/bin", 0o755, 0)
	must(w.t, os.WriteFile(plugin, prior, 0o750))
	must(w.t, os.Chown(plugin, 0, 1000))
	must(w.t, os.Chmod(plugin, 0o750))
	return plugin, prior
}

// TestUninstallRerunKeepsWhatTheFirstGaveBack: install over a program and
// a credentials file that were there before; uninstall gives them back;
// a second uninstall (now without a record) takes neither out again: the
// program is not a gcrcred build, and a credentials file cannot say whose
// it is. It changes nothing and says what it left.
func TestUninstallRerunKeepsWhatTheFirstGaveBack(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "kubeadm")
	plugin, prior := w.priorProgram()
	w.mkdir("etc/gcrcred", 0o700, 0)
	creds := filepath.Join(w.n.Root, "etc/gcrcred/credentials.json")
	must(t, os.WriteFile(creds, []byte(`{"type":"service_account","note":"the user's own"}`), 0o600))
	before := w.n.Tree()

	w.install()
	w.must("uninstall", "--kubelet-settle", "0s")
	w.sameTree("install then uninstall", before)

	out := w.must("uninstall", "--kubelet-settle", "0s")
	if lastLine(out) != "unchanged" || !strings.Contains(out, "no install record") {
		t.Errorf("a second uninstall changed something:\n%s", out)
	}
	for _, p := range []string{"/usr/local/lib/gcrcred/bin/gcrcred", "/etc/gcrcred/credentials.json"} {
		if !strings.Contains(out, "left "+p) {
			t.Errorf("a second uninstall does not say it left %s:\n%s", p, out)
		}
	}
	w.sameTree("a second uninstall", before)
	if got, err := os.ReadFile(plugin); err != nil || !bytes.Equal(got, prior) {
		t.Errorf("a second uninstall took the program back out (%d bytes, %v)", len(got), err)
	}
}

// TestUninstallFinishesAfterStoppingBetweenBackupsAndRecord: an uninstall
// stopped after it gave every file back and its backups went, but before
// its record did (the order of an older gcrcred): a rerun finishes from
// what is on disk, without the backups, and removes the record.
func TestUninstallFinishesAfterStoppingBetweenBackupsAndRecord(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "kubeadm")
	plugin, prior := w.priorProgram()
	before := w.n.Tree()
	w.install()
	must(t, os.WriteFile(plugin, prior, 0o750))
	must(t, os.Chown(plugin, 0, 1000))
	must(t, os.Chmod(plugin, 0o750))
	must(t, os.RemoveAll(filepath.Join(w.n.Root, "var/lib/gcrcred/backup")))

	w.must("uninstall", "--kubelet-settle", "0s")
	w.sameTree("uninstall after the stop", before)
}

// TestBrokenBackupAdviceLosesNothing: a backup gone missing stops
// uninstall with one way out, which leaves the file as it is; following it
// (putting the file wanted at the path, then rerunning uninstall) keeps
// that file, gives every other file back from its own backup, and removes
// the record.
func TestBrokenBackupAdviceLosesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "kubeadm")
	plugin, prior := w.priorProgram()
	// The earlier credentials are not text: they too are kept in a backup.
	w.mkdir("etc/gcrcred", 0o700, 0)
	creds := filepath.Join(w.n.Root, "etc/gcrcred/credentials.json")
	priorCreds := append([]byte("{\x00"), prior[:100<<10]...)
	must(t, os.WriteFile(creds, priorCreds, 0o600))
	before := w.n.Tree()
	w.install()
	installedPlugin, err := os.ReadFile(plugin)
	must(t, err)
	must(t, os.Remove(filepath.Join(w.n.Root, "var/lib/gcrcred/backup", record.Sum(prior))))

	out, code := w.gcrcred("uninstall", "--kubelet-settle", "0s")
	if code == 0 || !strings.Contains(out, "the backup /var/lib/gcrcred/backup/"+record.Sum(prior)+" is missing") ||
		!strings.Contains(out, "put the file you want at /usr/local/lib/gcrcred/bin/gcrcred yourself") ||
		strings.Count(out, "rerun") != 1 || strings.Contains(out, "away") {
		t.Errorf("uninstall with a missing backup: exit %d, want one way out that keeps the record\n%s", code, out)
	}
	if got, _ := os.ReadFile(plugin); !bytes.Equal(got, installedPlugin) {
		t.Error("uninstall with a missing backup changed the plugin")
	}
	w.record()

	// The user puts a program of their choice there (not the one before).
	must(t, os.WriteFile(plugin, []byte("#!/bin/sh\necho the user's choice\n"), 0o755))
	want := w.n.Tree()
	for p, v := range before {
		if !strings.HasSuffix(p, "lib/gcrcred/bin/gcrcred") {
			continue
		}
		before[p] = want[p]
		if v == want[p] {
			t.Fatalf("the user's program is the one from before: %s", v)
		}
	}
	out = w.must("uninstall", "--kubelet-settle", "0s")
	w.sameTree("uninstall after putting a program there by hand", before)
	if strings.Contains(out, "no install record") {
		t.Errorf("the rerun did not undo the record:\n%s", out)
	}
}

package node_test

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
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

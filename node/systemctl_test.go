package node_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemctlRootAloneCannotChangeIsRefused: install runs the node's
// systemctl as root; one that another user could have put there or can
// change, found ahead of the real one in /usr/local/sbin (the attacker's,
// group-writable, a link to the attacker's program, or in a directory of
// the attacker's) is refused, named with what is wrong, before anything
// changes, and never run; by uninstall too.
func TestSystemctlRootAloneCannotChangeIsRefused(t *testing.T) {
	t.Parallel()
	const script = "#!/bin/sh\necho ran >> /srv/attacker/ran\nexit 0\n"
	for _, tc := range []struct {
		name, want string
		plant      func(w *world)
	}{
		{"the attacker's", "/usr/local/sbin/systemctl is 0755 uid 65532", func(w *world) {
			w.write("usr/local/sbin/systemctl", script, 0o755, attacker, attacker)
		}},
		{"group-writable", "/usr/local/sbin/systemctl is 0775 uid 0", func(w *world) {
			must(t, os.Chmod(w.write("usr/local/sbin/systemctl", script, 0o775, 0, attacker), 0o775))
		}},
		{"a link to the attacker's", "/usr/local/sbin/systemctl is a symbolic link", func(w *world) {
			w.write("srv/attacker/systemctl", script, 0o755, attacker, attacker)
			w.mkdir("usr/local/sbin", 0o755, 0)
			must(t, os.Symlink("/srv/attacker/systemctl", filepath.Join(w.n.Root, "usr/local/sbin/systemctl")))
		}},
		{"in the attacker's directory", "/usr/local/sbin is 0755 uid 65532", func(w *world) {
			w.write("usr/local/sbin/systemctl", script, 0o755, 0, 0)
			w.mkdir("usr/local/sbin", 0o755, attacker)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, "kubeadm")
			ran := w.attackerFiles()
			tc.plant(w)
			before := w.n.Tree()
			for _, args := range [][]string{{"install", "--credentials", w.key}, {"uninstall"}} {
				verb := args[0]
				out, code := w.gcrcred(verb, append(args[1:], "--kubelet-settle", "0s")...)
				if code == 0 || !strings.Contains(out, tc.want) || !strings.Contains(out, "nothing changed") {
					t.Errorf("%s with a systemctl that is %s: exit %d, want a refusal naming %q:\n%s", verb, tc.name, code, tc.want, out)
				}
				if ran() {
					t.Errorf("%s ran a systemctl that is %s:\n%s", verb, tc.name, out)
				}
				w.sameTree(verb+" refused", before)
			}
		})
	}
}

package unitfile

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func write(t *testing.T, root, p, content string) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A unit under a root: the nearest unit file, drop-ins of every directory
// in name order (a nearer one hides a farther one of the same name),
// ExecStart= reset, Environment= and EnvironmentFile= expanded, continued
// lines joined.
func TestLoad(t *testing.T) {
	root := t.TempDir()
	write(t, root, "lib/systemd/system/kubelet.service", "[Service]\nExecStart=/usr/bin/kubelet --lib\n")
	write(t, root, "usr/lib/systemd/system/kubelet.service", "[Service]\nExecStart=/usr/bin/kubelet --usr-lib\n")
	write(t, root, "usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf",
		"[Service]\nEnvironment=\"A=--a=1 --b=2\"\nEnvironmentFile=-/etc/default/kubelet\nEnvironmentFile=-/missing\nExecStart=\nExecStart=/usr/bin/kubelet \\\n  $A ${EXTRA}\n")
	write(t, root, "usr/lib/systemd/system/kubelet.service.d/20-hidden.conf", "[Service]\nExecStart=\nExecStart=/hidden\n")
	write(t, root, "etc/systemd/system/kubelet.service.d/20-hidden.conf", "# nearer: hides the one under /usr/lib\n[Unit]\nExecStart=/not-service\n")
	write(t, root, "etc/systemd/system/kubelet.service.d/30-pre.conf", "[Service]\nExecStartPre=-/bin/true\nType=notify\nSlice=kube.slice\n")
	write(t, root, "etc/default/kubelet", "# comment\nEXTRA='--extra=\"x\"'\n")

	u, err := Load(root, "kubelet")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/usr/bin/kubelet", "--a=1", "--b=2", `--extra="x"`}
	if got := u.Argv(root); !reflect.DeepEqual(got, want) {
		t.Errorf("Argv: %q, want %q", got, want)
	}
	if !reflect.DeepEqual(u.Pre, []string{"-/bin/true"}) || !u.Notify || u.Slice != "kube.slice" {
		t.Errorf("unit: %+v", u)
	}
	if !Exists(root, "kubelet") || Exists(root, "k3s") || !reflect.DeepEqual(Names(root), []string{"kubelet"}) {
		t.Errorf("Exists/Names: %v", Names(root))
	}
	digest := u.Digest
	write(t, root, "etc/systemd/system/kubelet.service.d/30-pre.conf", "[Service]\n")
	if again, _ := Load(root, "kubelet"); again.Digest == digest {
		t.Error("a changed drop-in kept the digest")
	}
	if _, err := Load(root, "k3s"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("a missing unit: %v", err)
	}
}

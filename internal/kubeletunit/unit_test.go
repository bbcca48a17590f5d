package kubeletunit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/test/testbin"
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

// TestLoadFollowsSystemd: the unit file from the most important directory,
// drop-ins by name with a more important directory's hiding a less
// important one's, /lib skipped where it is merged /usr's link, Environment=
// and EnvironmentFile= (with %N) expanded into the command line; a drop-in
// another user can change is refused, named.
func TestLoadFollowsSystemd(t *testing.T) {
	testbin.NeedRoot(t) // the files must be root's to be believed
	root := t.TempDir()
	write(t, root, "usr/lib/systemd/system/k3s.service", "[Service]\nEnvironmentFile=-/etc/default/%N\nExecStart=/usr/local/bin/k3s server $K3S_ARGS\n")
	write(t, root, "usr/lib/systemd/system/k3s.service.d/10-a.conf", "[Service]\nEnvironment=K3S_ARGS=--from-usr\n")
	write(t, root, "etc/systemd/system/k3s.service.d/10-a.conf", "[Service]\nEnvironment=\"K3S_ARGS=--a --b\"\n")
	write(t, root, "etc/systemd/system/k3s.service.d/20-b.conf", "[Service]\nSlice=k8s.slice\n")
	write(t, root, "etc/default/k3s", "OTHER=1\n")
	if err := os.Symlink("usr/lib", filepath.Join(root, "lib")); err != nil {
		t.Fatal(err)
	}
	r, err := noderoot.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	u, found, err := Load(r, "k3s")
	if err != nil || !found {
		t.Fatalf("load: found %v, %v", found, err)
	}
	var paths []string
	for _, f := range u.Files {
		paths = append(paths, f.Path)
	}
	if got := strings.Join(paths, " "); got != "/usr/lib/systemd/system/k3s.service /etc/systemd/system/k3s.service.d/10-a.conf /etc/systemd/system/k3s.service.d/20-b.conf" {
		t.Errorf("files %s", got)
	}
	args, err := u.Args(r)
	if err != nil || strings.Join(args, " ") != "/usr/local/bin/k3s server --a --b" || u.Slice != "k8s.slice" || !u.UsesVar("K3S_ARGS") {
		t.Errorf("args %q (%v), slice %q", args, err, u.Slice)
	}
	if _, found, err := Load(r, "kubelet"); found || err != nil {
		t.Errorf("a unit that is not there: found %v, %v", found, err)
	}
	if err := os.Chown(filepath.Join(root, "etc/systemd/system/k3s.service.d/20-b.conf"), 65532, 65532); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(r, "k3s"); err == nil || !strings.Contains(err.Error(), "/etc/systemd/system/k3s.service.d/20-b.conf is 0644 uid 65532") {
		t.Errorf("a drop-in of another user's: %v", err)
	}
}

// The flags file edits both ways, by where the flags live.
func TestFlagsFile(t *testing.T) {
	for _, f := range []FlagsFile{{Path: "/etc/default/kubelet", Var: extraArgs}, {Path: "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"}} {
		in := "KUBELET_EXTRA_ARGS=--a\n"
		if f.IsUnit() {
			in = "[Service]\nExecStart=/kubelet --a\n"
		}
		out, changed, err := f.Add(in, ours)
		if err != nil || !changed || !HasFlags(f.Args(out), ours) {
			t.Errorf("%+v: add gave %q (%v)", f, out, err)
		}
		if back, changed := f.Remove(out, ours); !changed || back != in {
			t.Errorf("%+v: remove gave %q", f, back)
		}
	}
	if got := FlagValues([]string{"/usr/bin/kubelet", "--feature-gates=A=true", "-feature-gates", "B=false", "---feature-gates=C=1", "--feature-gates-x=D"}, "feature-gates"); strings.Join(got, " ") != "A=true B=false" {
		t.Errorf("flag values %q", got)
	}
}

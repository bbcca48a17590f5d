package kubelet

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/test/fakeminikube/fakecluster"
	"github.com/gcrcred/gcrcred/test/testbin"
)

// TestBinaryVersion: the kubelet's version is read from its Go build
// information, never by running it: a binary built from the module
// k8s.io/kubernetes (kubelet-lookup is, at the version test/kubelet pins)
// or stamped with -ldflags -X k8s.io/component-base/version.gitVersion
// says its version; another program, or one that another user can write,
// says nothing.
func TestBinaryVersion(t *testing.T) {
	root := t.TempDir()
	put := func(name, src string, mode os.FileMode) {
		t.Helper()
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	testbin.NeedRoot(t) // the files must be root's to be believed
	put("usr/bin/kubelet", fakecluster.KubeletLookup(t), 0o755)
	put("usr/bin/gcrcred", filepath.Join(testbin.Build(t), "gcrcred"), 0o755)
	put("usr/bin/writable", fakecluster.KubeletLookup(t), 0o775)

	// A release-style stamp: -ldflags -X, no -trimpath (so the flags are
	// kept in the build information).
	src := t.TempDir()
	for name, content := range map[string]string{"go.mod": "module stamped\n\ngo 1.22\n", "main.go": "package main\n\nimport \"time\"\n\nfunc main() { time.Sleep(time.Minute) }\n"} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stamped := filepath.Join(t.TempDir(), "stamped")
	cmd := exec.Command("go", "build", "-o", stamped, "-ldflags", "-s -w -X 'k8s.io/component-base/version.gitVersion=v1.34.1'", ".")
	cmd.Dir, cmd.Env = src, append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building a stamped binary: %v\n%s", err, out)
	}
	put("usr/bin/stamped", stamped, 0o755)

	r, err := noderoot.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := os.Symlink("stamped", filepath.Join(root, "usr/bin/linked")); err != nil {
		t.Fatal(err)
	}
	for bin, want := range map[string]string{
		"/usr/bin/linked":   "", // never through a link
		"/usr/bin/kubelet":  "v1.37.2",
		"/usr/bin/stamped":  "v1.34.1",
		"/usr/bin/gcrcred":  "",
		"/usr/bin/writable": "",
		"/usr/bin/missing":  "",
	} {
		if got := binaryVersion(r, bin); got != want {
			t.Errorf("%s: version %q, want %q", bin, got, want)
		}
	}

	// A running program, started through a link: its /proc/PID/exe is
	// the file itself.
	cmd = exec.Command(filepath.Join(root, "usr/bin/linked"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	host, err := noderoot.Open("/")
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	if got := runningVersion(host, cmd.Process.Pid); got != "v1.34.1" {
		t.Errorf("the running program's version %q, want v1.34.1", got)
	}
	if got := runningVersion(host, os.Getpid()); got != "" {
		t.Errorf("this test's own version %q, want none", got)
	}
}

func TestDpkgVersion(t *testing.T) {
	status := "Package: kubelet\nStatus: deinstall ok config-files\nVersion: 1.30.0-1.1\n\n" +
		"Package: kubectl\nStatus: install ok installed\nVersion: 1.36.0-1.1\n\n" +
		"Package: kubelet\nStatus: install ok installed\nDescription: x\n Version: 9\nVersion: 1.35.2-1.1\n"
	if v := dpkgVersion(status, "kubelet"); v != "1.35.2-1.1" {
		t.Fatalf("version %q", v)
	}
	if v := dpkgVersion("Package: kubelet\nStatus: deinstall ok config-files\nVersion: 1.30.0\n", "kubelet"); v != "" {
		t.Fatalf("a removed package: %q", v)
	}
	for v, want := range map[string]int{"v1.34.1": 34, "1.35.0-1.1": 35, "v1.31.4-k3s1": 31} {
		if got, ok := MinorOf(v); !ok || got != want {
			t.Errorf("%s: minor %d %v", v, got, ok)
		}
	}
	for _, v := range []string{"", "v2.0.1", "1.x.0", "(devel)", "v1.35"} {
		if _, ok := MinorOf(v); ok {
			t.Errorf("%q has a minor version", v)
		}
	}
}

func TestMain(m *testing.M) { fakecluster.Main(m) }

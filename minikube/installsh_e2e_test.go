package minikube_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/test/testbin"
)

// scriptTools are the programs install.sh runs besides make, go and
// gcrcred: only these, whatever else this machine has.
func scriptTools(t testing.TB) string {
	return testbin.Tools(t, "bash", "dirname", "sed", "uname", "tr")
}

// script runs minikube/install.sh with env (on top of the world's).
func (w *world) script(env []string, args ...string) (string, error) {
	w.t.Helper()
	full := testbin.Merge(testbin.Env(w.t), w.c.Env()...)
	full = testbin.Merge(full, "PATH="+w.c.Path(scriptTools(w.t)), "GCRCRED_DIST="+w.dist,
		"GCRCRED_BIN="+filepath.Join(testbin.Build(w.t), "gcrcred"))
	full = testbin.Merge(full, env...)
	cmd := exec.Command("bash", append([]string{filepath.Join(testbin.Root(), "minikube", "install.sh")}, args...)...)
	cmd.Env = full
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestInstallScript: minikube/install.sh, told not to build, runs the given
// gcrcred with the dist directory and the user's arguments; --help works
// without minikube.
func TestInstallScript(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "script", "kicbase/x86_64")
	out, err := w.script([]string{"GCRCRED_NO_BUILD=1"}, "-p", w.c.Profile, "--credentials", w.key, "--kubelet-settle=0s")
	if err != nil || !strings.Contains(out, "gcrcred is installed on 1 node") {
		t.Errorf("install.sh: %v\n%s", err, out)
	}
	w.checkAllNodes()

	out, err = w.script([]string{"GCRCRED_NO_BUILD=1", "PATH=" + scriptTools(t)}, "--help")
	if err != nil || !strings.Contains(out, "GCRCRED_NO_BUILD") || !strings.Contains(out, "gcrcred minikube install") || !strings.Contains(out, "--dry-run") {
		t.Errorf("install.sh --help without minikube: %v\n%s", err, out)
	}
}

// TestInstallScriptBuildsOnlyWhatTheNodesNeed: install.sh says what it
// builds and builds only the Linux architectures of the profile's nodes
// (`make dist PLATFORMS=linux/amd64` here; no darwin build).
func TestInstallScriptBuildsOnlyWhatTheNodesNeed(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "build", "kicbase/x86_64")
	tools := t.TempDir()
	log := filepath.Join(tools, "make.log")
	for _, tool := range []string{"make", "go"} {
		script := "#!/bin/sh\necho \"" + tool + " $*\" >> " + log + "\n"
		must(t, testbin.WriteProgram(filepath.Join(tools, tool), []byte(script)))
	}
	out, err := w.script([]string{"PATH=" + tools + ":" + w.c.Path(scriptTools(t))}, "-p", w.c.Profile, "--credentials", w.key, "--dry-run")
	if err != nil {
		t.Fatalf("install.sh --dry-run: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(log)
	if !strings.Contains(string(b), "dist PLATFORMS=linux/amd64 ") || strings.Contains(string(b), "darwin") || strings.Contains(string(b), "arm64") {
		t.Errorf("install.sh ran:\n%s", b)
	}
	if !strings.Contains(out, "Building gcrcred for the nodes: linux/amd64") || !strings.Contains(out, "Dry run: nothing was changed") {
		t.Errorf("install.sh does not say what it builds:\n%s", out)
	}

	// --help builds nothing when a gcrcred is already built: the script in
	// a checkout of its own whose bin/gcrcred is there.
	must(t, os.Remove(log))
	checkout := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(checkout, "minikube"), 0o755))
	must(t, os.MkdirAll(filepath.Join(checkout, "bin"), 0o755))
	script, err := os.ReadFile(filepath.Join(testbin.Root(), "minikube", "install.sh"))
	must(t, err)
	must(t, testbin.WriteProgram(filepath.Join(checkout, "minikube", "install.sh"), script))
	must(t, os.Symlink(filepath.Join(testbin.Build(t), "gcrcred"), filepath.Join(checkout, "bin", "gcrcred")))
	help := exec.Command("bash", filepath.Join(checkout, "minikube", "install.sh"), "--help")
	help.Env = []string{"PATH=" + tools + ":" + scriptTools(t), "HOME=" + t.TempDir()}
	hout, err := help.CombinedOutput()
	if b, _ := os.ReadFile(log); err != nil || len(b) > 0 || !strings.Contains(string(hout), "gcrcred minikube install") {
		t.Errorf("install.sh --help: %v, ran %q\n%s", err, b, hout)
	}
}

// TestInstallScriptChecksBeforeBuilding: without minikube, a running
// profile or credentials, install.sh says what is missing, each with its
// fix, and builds nothing (a cold build takes minutes); a dry run goes on
// to gcrcred's plan, and `make minikube-install ARGS=--dry-run` that lists
// what is missing is not a failed make.
func TestInstallScriptChecksBeforeBuilding(t *testing.T) {
	t.Parallel()
	stubs := t.TempDir()
	log := filepath.Join(stubs, "calls.log")
	for _, tool := range []string{"make", "go"} {
		must(t, testbin.WriteProgram(filepath.Join(stubs, tool), []byte("#!/bin/sh\necho \""+tool+" $*\" >> "+log+"\n")))
	}
	home := t.TempDir()
	script := exec.Command("bash", filepath.Join(testbin.Root(), "minikube", "install.sh"), "-p", "dev", "--credentials", filepath.Join(home, "missing.json"))
	script.Env = []string{"PATH=" + stubs + ":" + scriptTools(t), "HOME=" + home}
	out, err := script.CombinedOutput()
	if code := script.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(out), "nothing was built") ||
		!strings.Contains(string(out), "minikube is not on PATH") || !strings.Contains(string(out), "missing.json: no such file here: check the path") {
		t.Errorf("install.sh without minikube: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(log); len(b) > 0 {
		t.Errorf("install.sh built before it checked:\n%s", b)
	}

	tools := testbin.Tools(t, "make", "bash", "dirname", "sed", "uname", "tr")
	mk := exec.Command("make", "--no-print-directory", "-C", testbin.Root(), "minikube-install", "ARGS=--dry-run")
	mk.Env = []string{"PATH=" + tools, "HOME=" + home, "GCRCRED_NO_BUILD=1", "GCRCRED_BIN=" + filepath.Join(testbin.Build(t), "gcrcred")}
	out, err = mk.CombinedOutput()
	if err != nil || strings.Contains(string(out), "make: ***") || !strings.Contains(string(out), "Missing (") {
		t.Errorf("make minikube-install ARGS=--dry-run: %v\n%s", err, out)
	}
}

// TestMissingCredentialsFileAdvice: a --credentials file that does not
// exist is told to check the path, never to pass --credentials.
func TestMissingCredentialsFileAdvice(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"minikube", "kind"} {
		r := testbin.Run(t, testbin.Env(t), nil, "gcrcred", tool, "install", "--dry-run", "--credentials", "missing.json")
		if r.Code != 1 || !strings.Contains(r.Stdout, "check the path given to --credentials") || strings.Contains(r.Stdout+r.Stderr, "pass --credentials") {
			t.Errorf("gcrcred %s install --credentials missing.json: exit %d\n%s%s", tool, r.Code, r.Stdout, r.Stderr)
		}
		// The plan has no file MISSING with nothing below it, and no empty
		// parentheses or brackets.
		if strings.Contains(r.Stdout, "gcrcred/bin/gcrcred  0755 root:root  MISSING") || strings.Contains(r.Stdout, "()") || strings.Contains(r.Stdout, "[]") {
			t.Errorf("gcrcred %s install --dry-run plan:\n%s", tool, r.Stdout)
		}
	}
}

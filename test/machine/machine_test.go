// Package machine checks that the tests do not depend on what the machine
// running them happens to have installed: every test builds the PATH it
// runs gcrcred with (testbin.Env, testbin.Tools), so a docker, kind,
// minikube, kubectl or gcloud in the machine's own directories decides
// nothing.
package machine

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/test/testbin"
)

// decoys are programs a developer's machine often has. Each one, if a test
// ever runs it, records the call and fails.
var decoys = []string{"docker", "kind", "minikube", "kubectl", "gcloud", "helm"}

// suites are the tests whose outcome depends on what is missing from
// PATH: the preflights that must say "not on PATH", the dry run without
// minikube, the credential order that ends at gcloud; and the kind
// installer, which runs kind and docker (the fake cluster's, first on the
// PATH it builds): a call by absolute path would reach a decoy. (The
// minikube installers' tests run minikube the same way, at four times the
// cost; kind's shows the rule.)
var suites = []struct {
	pkg   string
	tests []string
}{
	{"./kind", []string{"TestKindPreflight", "TestKindInstall"}},
	{"./minikube", []string{"TestPreflightRefusals", "TestDryRunWithoutMinikubeOrCredentials"}},
	{"./helper", []string{"TestNoCredentialsIsNotFoundWithHint", "TestGetEveryCredentialType"}},
	{"./provider", []string{"TestGetCredentialsWithoutCredentialsFailsClearly"}},
}

// envTestBinaries is where test/testrun keeps the root module's test
// binaries (as NAME.test, NAME the package's last element), when it runs this.
const envTestBinaries = "GCRCRED_TEST_BINARIES_DIR"

// TestToolsOnTheMachineChangeNoTest stages a machine whose /usr/bin and
// /usr/local/bin hold every decoy (an overlay in a mount namespace of the
// test's own; the machine's directories are untouched) and runs the suites
// there: they pass as they do on a machine without those programs, and no
// decoy ran.
func TestToolsOnTheMachineChangeNoTest(t *testing.T) {
	testbin.NeedRoot(t)
	unshare, err := exec.LookPath("unshare")
	testbin.Need(t, err == nil, "this test needs unshare (util-linux)")
	dir := t.TempDir()
	log := filepath.Join(dir, "decoys.log")
	decoyDir := filepath.Join(dir, "decoys")
	if err := os.Mkdir(decoyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range decoys {
		script := "#!/bin/sh\necho \"" + name + " $*\" >> " + log + "\nexit 97\n"
		if err := os.WriteFile(filepath.Join(decoyDir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range suites {
		bin := filepath.Join(dir, filepath.Base(s.pkg)+".test")
		if built := os.Getenv(envTestBinaries); built != "" {
			// make test's own test binaries (test/testrun), linked already.
			if err := os.Symlink(filepath.Join(built, filepath.Base(bin)), bin); err != nil {
				t.Fatal(err)
			}
			continue
		}
		build := exec.Command("go", "test", "-c", "-o", bin, s.pkg)
		build.Dir = testbin.Root()
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go test -c %s: %v\n%s", s.pkg, err, out)
		}
	}

	// The overlays' upper directories live on a tmpfs of the namespace's
	// own; the suites run with this process's environment (the binaries
	// make test built) from their package directories, as go test runs them.
	var script strings.Builder
	script.WriteString("set -eu\nmount -t tmpfs tmpfs " + dir + "/upper\n")
	for i, d := range []string{"/usr/bin", "/usr/local/bin"} {
		u := filepath.Join(dir, "upper", string(rune('a'+i)))
		script.WriteString("mkdir -p " + u + "/files " + u + "/work\ncp " + decoyDir + "/* " + u + "/files/\n")
		script.WriteString("mount -t overlay overlay -o lowerdir=" + d + ",upperdir=" + u + "/files,workdir=" + u + "/work " + d + "\n")
	}
	script.WriteString("for p in " + strings.Join(decoys, " ") + "; do [ \"$(command -v $p)\" = /usr/local/bin/$p ] || { echo \"decoy $p is not first on PATH\"; exit 1; }; done\n")
	for _, s := range suites {
		run := "^(" + strings.Join(s.tests, "|") + ")$"
		script.WriteString("(cd " + filepath.Join(testbin.Root(), s.pkg) + " && " + filepath.Join(dir, filepath.Base(s.pkg)+".test") + " -test.count=1 -test.v -test.run '" + run + "')\n")
	}
	if err := os.Mkdir(filepath.Join(dir, "upper"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c", script.String())
	cmd.Env = append(testbin.Unset(os.Environ(), "PATH"), "PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/go/bin:"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("the suites on a machine with %s installed: %v\n%s", strings.Join(decoys, ", "), err, out)
	}
	if b, _ := os.ReadFile(log); len(b) > 0 {
		t.Errorf("tests ran programs of the machine's own:\n%s", b)
	}
	// Each test by name: a binary of another package would pass too,
	// having none of them to run.
	for _, s := range suites {
		for _, name := range s.tests {
			if !strings.Contains(string(out), "--- PASS: "+name+" (") {
				t.Errorf("%s %s did not pass on that machine:\n%s", s.pkg, name, out)
			}
		}
	}
}

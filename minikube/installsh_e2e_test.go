package minikube_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/internal/testbin"
)

// TestInstallScript: minikube/install.sh, told not to build, runs the given
// gcrcred with the dist directory and the user's arguments.
func TestInstallScript(t *testing.T) {
	w := newWorld(t, "script", "kicbase/x86_64")
	bin := testbin.Build(t)
	env := testbin.Merge(testbin.Env(t), w.c.Env()...)
	env = testbin.Merge(env, "PATH="+w.c.Bin+":/usr/bin:/bin", "GCRCRED_NO_BUILD=1",
		"GCRCRED_DIST="+w.dist, "GCRCRED_BIN="+filepath.Join(bin, "gcrcred"))

	cmd := exec.Command("bash", filepath.Join(testbin.Root(), "minikube", "install.sh"),
		"-p", w.c.Profile, "--credentials", w.key, "--kubelet-settle=0s")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "gcrcred is installed on 1 node") {
		t.Errorf("install.sh output:\n%s", out)
	}
	w.checkAllNodes()

	cmd = exec.Command("bash", filepath.Join(testbin.Root(), "minikube", "install.sh"), "-p", w.c.Profile)
	cmd.Env = testbin.Merge(env, "PATH=/usr/bin:/bin")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "minikube is not on PATH") {
		t.Errorf("install.sh without minikube: %v\n%s", err, out)
	}
}

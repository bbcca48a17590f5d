package minikube_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/test/testbin"
)

// preexisting gives the profile what a real user's has before install: a
// file of their own in file sync, a Docker config of the docker user's with
// other settings (gcr.io sent to gcloud's helper, odd formatting), and a key
// in the profile's config.json that gcrcred does not know.
func (w *world) preexisting() {
	w.t.Helper()
	motd := filepath.Join(w.c.FileSyncDir(), "etc", "motd")
	must(w.t, os.MkdirAll(filepath.Dir(motd), 0o755))
	must(w.t, os.WriteFile(motd, []byte("hello\n"), 0o644))

	name := w.c.NodeNames()[0]
	dir := filepath.Join(w.c.Root(name), "home/docker/.docker")
	must(w.t, os.MkdirAll(dir, 0o700))
	cfg := filepath.Join(dir, "config.json")
	must(w.t, os.WriteFile(cfg, []byte(`{"auths": {"registry.example.com": {"auth": "dXNlcjpwYXNz"}},
  "credHelpers": {"gcr.io": "gcloud"}, "psFormat": "table {{.ID}}"}`), 0o644))
	gid, _ := w.c.GroupID(name, "docker")
	must(w.t, os.Chown(dir, 1000, int(gid)))
	must(w.t, os.Chown(cfg, 1000, int(gid)))

	var doc map[string]any
	b, err := os.ReadFile(w.c.ProfileConfigPath())
	must(w.t, err)
	must(w.t, json.Unmarshal(b, &doc))
	doc["SomethingNewer"] = map[string]any{"Kept": true}
	b, _ = json.MarshalIndent(doc, "", "    ")
	must(w.t, os.WriteFile(w.c.ProfileConfigPath(), b, 0o644))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestInstallIsIdempotentAndUninstallExact: --dry-run changes nothing;
// install works on every node (kicbase and Buildroot userlands); a second
// install changes nothing and copies nothing; uninstall gives back every node tree, the saved
// extra-config (kubelet.max-pods stays) and the file sync folder as they
// were, byte for byte and mode for mode.
func TestInstallIsIdempotentAndUninstallExact(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "exact", "kicbase/x86_64", "buildroot/x86_64")
	w.preexisting()
	before := w.state()

	out := w.install("--dry-run")
	for _, want := range []string{"Dry run: nothing was changed", nodelayout.Binary, nodelayout.Credentials, nodelayout.ProviderConfig, nodelayout.BootDropIn, "sha256:"} {
		if !strings.Contains(out, want) {
			t.Errorf("the dry run does not say %q:\n%s", want, out)
		}
	}
	w.sameState("install --dry-run", before, w.state())

	out = w.install()
	for _, want := range []string{"node binary linux/amd64: " + filepath.Join(w.dist, "gcrcred-linux-amd64") + " (gcrcred ", "sha256 ", "kubelet set-up: minikube"} {
		if !strings.Contains(out, want) {
			t.Errorf("install does not say %q:\n%s", want, out)
		}
	}
	w.checkAllNodes()

	// A rerun copies nothing: what the nodes have already is used where
	// it is (every `minikube cp` fails meanwhile).
	installed, stamps := w.state(), w.stamps()
	for _, n := range w.c.NodeNames() {
		w.c.Fail("cp", n, "")
	}
	out = w.install()
	w.c.ClearFaults()
	if strings.Contains(out, " done") {
		t.Errorf("the second install did something:\n%s", out)
	}
	w.sameState("a second install", installed, w.state())
	w.sameStamps("a second install", stamps)

	w.uninstall("--dry-run")
	w.sameState("uninstall --dry-run", installed, w.state())

	out = w.uninstall()
	w.sameState("install then uninstall", before, w.state())
	if !strings.Contains(w.c.ExtraOptions(), "max-pods") {
		t.Errorf("uninstall lost kubelet.max-pods: %s", w.c.ExtraOptions())
	}
	if _, ok := w.c.ProfileConfig()["SomethingNewer"]; !ok {
		t.Error("a key of the profile's config.json that gcrcred does not know was lost")
	}
	for _, n := range w.c.NodeNames() {
		if unit, running := w.c.KubeletFlags(n); unit[nodelayout.FlagProviderConfig] != "" || running[nodelayout.FlagProviderConfig] != "" {
			t.Errorf("node %s still has the provider flag after uninstall:\n%s", n, out)
		}
	}
}

// TestSurvivesRestartAndNodeAdd: after `minikube stop` + `start` (a
// Buildroot node comes back with an empty RAM root and no install record;
// minikube rewrites every kubelet drop-in) and `minikube node add`, every
// node still pulls, and uninstall then leaves no trace of gcrcred on any.
func TestSurvivesRestartAndNodeAdd(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "restart", "kicbase/x86_64", "buildroot/x86_64") // node add: Buildroot again
	w.install()
	w.c.Minikube("stop")
	w.c.Minikube("start")
	w.checkAllNodes()

	w.c.Minikube("node", "add")
	if n := len(w.c.NodeNames()); n != 3 {
		t.Fatalf("node add: %d nodes", n)
	}
	w.checkAllNodes()

	// A rerun after the restart finds gcrcred's files in place but the VM
	// node's record gone: it takes them on, so uninstall still removes them.
	w.c.Minikube("stop")
	w.c.Minikube("start")
	w.install()

	w.uninstall()
	if eo := w.c.ExtraOptions(); strings.Contains(eo, "image-credential") || !strings.Contains(eo, "max-pods") {
		t.Errorf("ExtraOptions after uninstall: %s", eo)
	}
	if entries, _ := os.ReadDir(w.c.FileSyncDir()); len(entries) != 0 {
		t.Errorf("file sync folder not empty after uninstall: %v", entries)
	}
	for _, n := range w.c.NodeNames() {
		for path := range w.c.NodeTree(n) {
			if strings.Contains(path, "gcrcred") {
				t.Errorf("node %s: %s left after uninstall", n, path)
			}
		}
		if unit, running := w.c.KubeletFlags(n); unit[nodelayout.FlagProviderConfig] != "" || running[nodelayout.FlagProviderConfig] != "" {
			t.Errorf("node %s still has the provider flag after uninstall", n)
		}
	}
	w.kubeletsStartable()
}

// TestFailureHalfwayLeavesEveryKubeletStartable: a copy that fails on the
// second node, then a kubelet there that will not start with the flags,
// make install fail with a message naming the node and what to do; every
// kubelet's flags name only files that exist, and every kubelet restarts;
// a rerun completes.
func TestFailureHalfwayLeavesEveryKubeletStartable(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "faults", "kicbase/x86_64", "buildroot/x86_64")
	second := w.c.NodeNames()[1]
	args := []string{"install", "-p", w.c.Profile, "--credentials", w.key, "--dist", w.dist, "--kubelet-settle=0s"}

	for _, fault := range []struct {
		name   string
		inject func()
		want   string
	}{
		{"cp", func() { w.c.Fail("cp", second, "") }, "copying"},
		{"kubelet", func() { w.c.Node(second).FailUnit("kubelet") }, "did not stay up"},
	} {
		fault.inject()
		out, code := w.gcrcred(nil, args...)
		w.c.ClearFaults()
		w.c.Node(second).ClearFaults()
		if code == 0 {
			t.Fatalf("install succeeded although %s failed on %s:\n%s", fault.name, second, out)
		}
		for _, want := range []string{second, fault.want, "rerun"} {
			if !strings.Contains(out, want) {
				t.Errorf("with %s failing, the output does not mention %q:\n%s", fault.name, want, out)
			}
		}
		w.kubeletsStartable()
		if v := w.c.Violations(); v != "" {
			t.Errorf("a secret was world-readable on a node:\n%s", v)
		}
	}

	w.install()
	w.checkAllNodes()
}

// TestNodeBinariesComeOnlyFromDistOrNextToGcrcred: a node whose `uname -m`
// is aarch64 needs gcrcred-linux-arm64. One in the current directory's
// dist/ is never taken (whoever can write there would choose what runs as
// root on every node); without --dist install stops before changing
// anything and says to run `make dist`.
func TestNodeBinariesComeOnlyFromDistOrNextToGcrcred(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "arm", "buildroot/aarch64")
	before := w.state()
	cwd := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(cwd, "dist"), 0o755))
	must(t, os.Symlink(filepath.Join(testbin.Build(t), "gcrcred"), filepath.Join(cwd, "dist", "gcrcred-linux-arm64")))
	must(t, os.Symlink(filepath.Join(testbin.Build(t), "gcrcred"), filepath.Join(cwd, "gcrcred-linux-arm64")))

	for _, args := range [][]string{
		{"install", "-p", w.c.Profile, "--credentials", w.key, "--dist", w.dist},
		{"install", "-p", w.c.Profile, "--credentials", w.key},
	} {
		out, code := w.gcrcredIn(cwd, nil, args...)
		if code == 0 {
			t.Fatalf("install succeeded without an arm64 binary:\n%s", out)
		}
		for _, want := range []string{"linux/arm64", "gcrcred-linux-arm64", "make dist"} {
			if !strings.Contains(out, want) {
				t.Errorf("error does not mention %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, cwd) {
			t.Errorf("install looked at the current directory %s:\n%s", cwd, out)
		}
	}
	w.sameState("a refused install", before, w.state())
}

// TestProfilesShareFileSync: file sync is one folder for every profile
// under a MINIKUBE_HOME. Uninstalling one profile keeps gcrcred's files
// there while another profile's saved flags still name them (its next start
// would give it a kubelet that cannot start), and the last uninstall
// removes them.
func TestProfilesShareFileSync(t *testing.T) {
	t.Parallel()
	a := newWorld(t, "alpha", "kicbase/x86_64")
	b := *a
	b.c = a.c.WithProfile("beta")
	b.c.Minikube("start")
	a.install()
	if out := b.install(); !strings.Contains(out, "alpha") {
		t.Errorf("install on beta does not say alpha shares file sync:\n%s", out)
	}

	if out := a.uninstall(); !strings.Contains(out, "beta still use") {
		t.Errorf("uninstall on alpha does not say it keeps file sync for beta:\n%s", out)
	}
	b.c.Minikube("stop")
	b.c.Minikube("start")
	b.checkAllNodes()

	b.uninstall()
	if entries, _ := os.ReadDir(a.c.FileSyncDir()); len(entries) != 0 {
		t.Errorf("file sync not empty after the last uninstall: %v", entries)
	}
}

// TestRerunWithNewConfigRestartsTheKubelet: the kubelet reads its provider
// config only at start, so a rerun that changes the config (another
// --registries) restarts it, and status says when a kubelet started before
// its current config.
func TestRerunWithNewConfigRestartsTheKubelet(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "rerun", "kicbase/x86_64")
	w.install()
	name := w.c.NodeNames()[0]
	restarts := w.c.Node(name).Restarts("kubelet")
	out := w.install("--registries", "registry.example.com")
	if got := w.c.Node(name).Restarts("kubelet"); got != restarts+1 {
		t.Errorf("a rerun that changed the provider config restarted the kubelet %d times, want once:\n%s", got-restarts, out)
	}
	cfg, err := os.ReadFile(filepath.Join(w.c.Root(name), nodelayout.ProviderConfig))
	if err != nil || !strings.Contains(string(cfg), "registry.example.com") {
		t.Errorf("the provider config lacks the new registry: %v\n%s", err, cfg)
	}
	w.checkAllNodes()

	// The config changes behind the kubelet's back.
	later := time.Now().Add(time.Minute)
	must(t, os.Chtimes(filepath.Join(w.c.Root(name), nodelayout.ProviderConfig), later, later))
	out, code := w.gcrcred(nil, "status", "-p", w.c.Profile)
	if code != 1 || !strings.Contains(out, "kubelet started before its current provider config") {
		t.Errorf("status (exit %d) does not see a kubelet older than its config:\n%s", code, out)
	}
	w.install()
	if out, code := w.gcrcred(nil, "status", "-p", w.c.Profile); code != 0 {
		t.Errorf("install did not restart the stale kubelet (status exit %d):\n%s", code, out)
	}
}

package minikube_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gcrcred/gcrcred/internal/endpoint"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/test/fakegoogle"
	"github.com/gcrcred/gcrcred/test/fakeminikube/fakecluster"
	"github.com/gcrcred/gcrcred/test/testbin"
)

// world is a fake minikube profile, a fake Google on loopback, a service
// account key for the nodes, and the gcrcred binary built from this tree
// (as the host's CLI and, copied into a dist directory, as the node binary).
type world struct {
	t    *testing.T
	c    *fakecluster.Cluster
	g    *fakegoogle.Google
	key  string // the host's credentials file
	dist string
}

// newWorld starts a profile whose nodes are the given "flavor/arch" specs.
func newWorld(t *testing.T, profile string, nodes ...string) *world {
	t.Helper()
	fakecluster.Require(t)
	g, key, _ := testbin.GoogleWithKey(t, "minikube-nodes")
	w := &world{t: t, g: g, key: key, dist: t.TempDir()}
	if err := os.Symlink(filepath.Join(testbin.Build(t), "gcrcred"), filepath.Join(w.dist, "gcrcred-linux-amd64")); err != nil {
		t.Fatal(err)
	}
	w.c = fakecluster.New(t, profile, strings.Join(nodes, ","))
	w.c.Secret = keyID(t, key) // the fake logs any cp that leaves this world-readable
	w.c.Minikube("start", "--nodes", strconv.Itoa(len(nodes)), "--extra-config=kubelet.max-pods=50")
	return w
}

func keyID(t *testing.T, keyFile string) string {
	b, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		PrivateKeyID string `json:"private_key_id"`
	}
	if err := json.Unmarshal(b, &k); err != nil || k.PrivateKeyID == "" {
		t.Fatalf("no private_key_id in %s", keyFile)
	}
	return k.PrivateKeyID
}

// gcrcred runs `gcrcred minikube ARGS` on the host, with the fake minikube
// first on PATH; it returns the combined output and the exit code.
func (w *world) gcrcred(env []string, args ...string) (string, int) {
	w.t.Helper()
	return w.gcrcredIn("", env, args...)
}

// gcrcredIn is gcrcred run in the directory dir ("" = the test's).
func (w *world) gcrcredIn(dir string, env []string, args ...string) (string, int) {
	w.t.Helper()
	bin := testbin.Build(w.t)
	full := testbin.Merge(testbin.Env(w.t), w.c.Env()...)
	full = testbin.Merge(full, "PATH="+w.c.Path(bin), "GCRCRED_TIMEOUT=5s")
	full = testbin.Merge(full, env...)
	cmd := exec.Command(filepath.Join(bin, "gcrcred"), append([]string{"minikube"}, args...)...)
	cmd.Env = full
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			w.t.Fatalf("running gcrcred: %v", err)
		}
		code = ee.ExitCode()
	}
	return string(out), code
}

// install runs install (fast kubelet settle: the fake's kubelet fails at
// once) and fails the test if it fails.
func (w *world) install(args ...string) string {
	w.t.Helper()
	out, code := w.gcrcred(nil, append([]string{"install", "-p", w.c.Profile, "--credentials", w.key, "--dist", w.dist, "--kubelet-settle=0s"}, args...)...)
	if code != 0 {
		w.t.Fatalf("install failed (exit %d):\n%s", code, out)
	}
	return out
}

func (w *world) uninstall(args ...string) string {
	w.t.Helper()
	out, code := w.gcrcred(nil, append([]string{"uninstall", "-p", w.c.Profile, "--kubelet-settle=0s"}, args...)...)
	if code != 0 {
		w.t.Fatalf("uninstall failed (exit %d):\n%s", code, out)
	}
	return out
}

// state is everything install may touch: node trees, the profile's saved
// extra-config, the file sync folder.
type state struct {
	nodes        map[string]fakecluster.Tree
	extraOptions string
	fileSync     fakecluster.Tree
}

func (w *world) state() state {
	s := state{nodes: map[string]fakecluster.Tree{}, extraOptions: w.c.ExtraOptions(),
		fileSync: fakecluster.Snapshot(w.t, w.c.FileSyncDir())}
	for _, n := range w.c.NodeNames() {
		s.nodes[n] = w.c.NodeTree(n)
	}
	return s
}

// stamps are the Stamps of every node (install.json included) and of the
// file sync folder.
func (w *world) stamps() map[string]fakecluster.Tree {
	s := map[string]fakecluster.Tree{"file sync": fakecluster.Stamps(w.t, w.c.FileSyncDir())}
	for _, n := range w.c.NodeNames() {
		s[n] = w.c.Node(n).Stamps()
	}
	return s
}

// sameStamps fails the test where a file was written since stamps were
// taken, even with the same bytes: a run that changes nothing writes nothing.
func (w *world) sameStamps(what string, before map[string]fakecluster.Tree) {
	w.t.Helper()
	for where, tree := range w.stamps() {
		if d := fakecluster.Diff(before[where], tree); len(d) > 0 {
			w.t.Errorf("%s rewrote files of %s:\n  %s", what, where, strings.Join(d, "\n  "))
		}
	}
}

// sameState fails the test where now differs from before.
func (w *world) sameState(what string, before, now state) {
	w.t.Helper()
	for n, tree := range before.nodes {
		if d := fakecluster.Diff(tree, now.nodes[n]); len(d) > 0 {
			w.t.Errorf("%s changed node %s:\n  %s", what, n, strings.Join(d, "\n  "))
		}
	}
	if before.extraOptions != now.extraOptions {
		w.t.Errorf("%s changed the profile's ExtraOptions:\n  before %s\n  now    %s", what, before.extraOptions, now.extraOptions)
	}
	if d := fakecluster.Diff(before.fileSync, now.fileSync); len(d) > 0 {
		w.t.Errorf("%s changed the file sync folder:\n  %s", what, strings.Join(d, "\n  "))
	}
}

// checkNode is the acceptance test for one node: the kubelet's
// flags name a config and bin dir that exist; the kubelet's own plugin code,
// run in the node with an empty environment against exactly those paths,
// gets a token the fake Google issued; docker-credential-gcrcred works for
// root and for the docker user; the credentials are not world-readable;
// Docker's configs point at gcrcred.
func (w *world) checkNode(name string) {
	w.t.Helper()
	c, root := w.c, w.c.Root(name)
	unit, running := c.KubeletFlags(name)
	config, binDir := unit[nodelayout.FlagProviderConfig], unit[nodelayout.FlagProviderBinDir]
	if config == "" || binDir == "" {
		w.t.Fatalf("node %s: the kubelet's ExecStart lacks the provider flags: %v", name, unit)
	}
	if running[nodelayout.FlagProviderConfig] != config || running[nodelayout.FlagProviderBinDir] != binDir {
		w.t.Errorf("node %s: the running kubelet has %v, its unit %v", name, running, unit)
	}
	for _, p := range []string{config, filepath.Join(binDir, "gcrcred")} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			w.t.Errorf("node %s: the kubelet's flags name %s, which is missing: %v", name, p, err)
		}
	}

	r, stderr, err := c.Lookup(name, config, binDir, "gcr.io/proj/img")
	if err != nil || !r.Found || r.Username != "oauth2accesstoken" || !w.g.Valid(r.Password) {
		w.t.Errorf("node %s: the kubelet's plugin lookup = %+v (valid token: %v), err %v\n%s", name, r.Found, w.g.Valid(r.Password), err, stderr)
	}

	for _, u := range []struct {
		name string
		user fakecluster.User
	}{{"root", fakecluster.RootUser}, {"docker", c.DockerUser(name)}} {
		// The test switch: the node's credentials name the fake on 127.0.0.1.
		env := []string{"HOME=" + u.user.Home, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", endpoint.EnvTestLoopback + "=1"}
		out, stderr, err := c.Exec(name, u.user, env, "gcr.io", "/bin/sh", "-c", "exec docker-credential-gcrcred get")
		var creds struct{ Username, Secret string }
		if err != nil || json.Unmarshal([]byte(out), &creds) != nil || creds.Username != "oauth2accesstoken" || !w.g.Valid(creds.Secret) {
			w.t.Errorf("node %s: `docker-credential-gcrcred get` as %s: err %v, valid token %v\n%s", name, u.name, err, w.g.Valid(creds.Secret), stderr)
		}
		if !dockerPointsAtUs(filepath.Join(root, u.user.Home, ".docker/config.json")) {
			w.t.Errorf("node %s: %s's Docker config does not send gcr.io to gcrcred", name, u.name)
		}
	}

	fi, err := os.Stat(filepath.Join(root, nodelayout.Credentials))
	if err != nil {
		w.t.Fatalf("node %s: %v", name, err)
	}
	gid, _ := c.GroupID(name, "docker")
	if st := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm()&0o007 != 0 || st.Uid != 0 || st.Gid != gid {
		w.t.Errorf("node %s: credentials are %v %d:%d, want no access for others, root and the docker group (%d)", name, fi.Mode(), st.Uid, st.Gid, gid)
	}
	if v := c.Violations(); v != "" {
		w.t.Errorf("a secret was world-readable on a node:\n%s", v)
	}
}

func dockerPointsAtUs(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var c struct {
		CredHelpers map[string]string `json:"credHelpers"`
	}
	return json.Unmarshal(b, &c) == nil && c.CredHelpers["gcr.io"] == "gcrcred"
}

// checkAllNodes runs checkNode on every node, then `status`, which must say
// all is well.
func (w *world) checkAllNodes() {
	w.t.Helper()
	for _, n := range w.c.NodeNames() {
		w.checkNode(n)
	}
	if out, code := w.gcrcred(nil, "status", "-p", w.c.Profile); code != 0 {
		w.t.Errorf("status exit %d:\n%s", code, out)
	}
}

// kubeletsStartable fails the test if some node's kubelet flags (in its
// unit or on the running kubelet) name a file that is missing, or if its
// kubelet does not run after a restart.
func (w *world) kubeletsStartable() {
	w.t.Helper()
	for _, n := range w.c.NodeNames() {
		unit, running := w.c.KubeletFlags(n)
		for _, flags := range []map[string]string{unit, running} {
			for _, k := range []string{nodelayout.FlagProviderConfig, nodelayout.FlagProviderBinDir} {
				if p, ok := flags[k]; ok {
					if _, err := os.Stat(filepath.Join(w.c.Root(n), p)); err != nil {
						w.t.Errorf("node %s: --%s=%s names a missing path: the kubelet would not start", n, k, p)
					}
				}
			}
		}
		out, err := w.c.TryMinikube("ssh", "-n", n, "--", "sudo systemctl restart kubelet && systemctl is-active kubelet")
		if err != nil {
			w.t.Errorf("node %s: the kubelet does not start after a restart: %v\n%s", n, err, out)
		}
	}
}

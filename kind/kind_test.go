package kind_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gcrcred/gcrcred/internal/hostinstall"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/test/fakegoogle"
	"github.com/gcrcred/gcrcred/test/fakeminikube/fakecluster"
	"github.com/gcrcred/gcrcred/test/testbin"
)

func TestMain(m *testing.M) { fakecluster.Main(m) }

// world is a kind cluster of the fake world (its nodes busybox chroots of
// the kind flavour, reached by the fake kind and docker), a fake Google on
// loopback, a key for it, and the gcrcred built from this tree, also as
// the node binary in a dist directory.
type world struct {
	t       *testing.T
	c       *fakecluster.Cluster
	g       *fakegoogle.Google
	key     string
	dist    string
	cluster string
	nodes   []string
}

func newWorld(t *testing.T, cluster string, workers int) *world {
	t.Helper()
	fakecluster.Require(t)
	g, key, _ := testbin.GoogleWithKey(t, "kind-nodes")
	w := &world{t: t, g: g, key: key, dist: t.TempDir(), cluster: cluster, c: fakecluster.New(t, "unused", "")}
	if err := os.Symlink(filepath.Join(testbin.Build(t), "gcrcred"), filepath.Join(w.dist, "gcrcred-linux-amd64")); err != nil {
		t.Fatal(err)
	}
	w.c.Secret = "PRIVATE KEY" // the fake logs any copy that leaves a key world-readable
	w.nodes = w.c.KindCreate(cluster, workers)
	return w
}

// gcrcred runs `gcrcred kind ARGS` on the host with every fake first on
// PATH (env may replace PATH); it returns the output and the exit code.
func (w *world) gcrcred(env []string, args ...string) (string, int) {
	w.t.Helper()
	full := testbin.Merge(testbin.Env(w.t), w.c.Env()...)
	full = testbin.Merge(full, "PATH="+w.c.Path(testbin.Build(w.t)))
	r := testbin.Run(w.t, testbin.Merge(full, env...), nil, "gcrcred", append([]string{"kind"}, args...)...)
	return r.Stdout + r.Stderr, r.Code
}

func (w *world) must(args ...string) string {
	w.t.Helper()
	out, code := w.gcrcred(nil, args...)
	if code != 0 {
		w.t.Fatalf("gcrcred kind %v: exit %d\n%s", args, code, out)
	}
	return out
}

func (w *world) install(args ...string) string {
	w.t.Helper()
	return w.must(append([]string{"install", "--name", w.cluster, "--credentials", w.key, "--dist", w.dist, "--kubelet-settle=0s"}, args...)...)
}

func (w *world) node(name string) *fakecluster.Node { return w.c.KindNode(w.cluster, name) }

func (w *world) trees() map[string]fakecluster.Tree {
	trees := map[string]fakecluster.Tree{}
	for _, n := range w.nodes {
		trees[n] = w.node(n).Tree()
	}
	return trees
}

func (w *world) sameTrees(what string, before map[string]fakecluster.Tree) {
	w.t.Helper()
	for n, tree := range before {
		if d := fakecluster.Diff(tree, w.node(n).Tree()); len(d) > 0 {
			w.t.Errorf("%s changed node %s:\n  %s", what, n, strings.Join(d, "\n  "))
		}
	}
}

// pulls checks, on every node, that the kubelet's own plugin code, run in
// the node with the flags the running kubelet has, gets a token (extra:
// more kubelet-lookup flags for the node, and the subject the token must
// be for).
func (w *world) pulls(extra func(n *fakecluster.Node) []string, subject string) {
	w.t.Helper()
	for _, name := range w.nodes {
		n := w.node(name)
		args := n.KubeletArgs()
		config, binDir := args[nodelayout.FlagProviderConfig], args[nodelayout.FlagProviderBinDir]
		if config == "" || binDir == "" {
			w.t.Fatalf("node %s: the running kubelet has no provider flags: %v", name, args)
		}
		var more []string
		if extra != nil {
			more = extra(n)
		}
		r, stderr, err := n.Lookup(config, binDir, "gcr.io/proj/img", more...)
		password := r.Password
		if len(r.Results) > 0 {
			password = r.Results[0].Password
		}
		if err != nil || !w.g.Valid(password) || subject != "" && w.g.TokenSubject(password) != subject {
			w.t.Errorf("node %s: the kubelet's plugin lookup: valid token %v for %q (want %q), err %v\n%s", name, w.g.Valid(password), w.g.TokenSubject(password), subject, err, stderr)
		}
	}
}

// startable fails the test unless every node's kubelet flags name files
// that exist and its kubelet comes back after a restart.
func (w *world) startable() {
	w.t.Helper()
	for _, name := range w.nodes {
		n := w.node(name)
		for k, v := range n.KubeletArgs() {
			if strings.HasPrefix(k, "image-credential-provider") {
				if _, err := os.Stat(filepath.Join(n.Root, v)); err != nil {
					w.t.Errorf("node %s: --%s=%s names a missing path", name, k, v)
				}
			}
		}
		if out, err := w.c.Tool("docker", "exec", name, "systemctl", "restart", "kubelet"); err != nil {
			w.t.Errorf("node %s: the kubelet does not restart: %v\n%s", name, err, out)
		}
		if state, err := n.Systemctl("is-active", "kubelet"); err != nil {
			w.t.Errorf("node %s: the kubelet is %s after a restart", name, state)
		}
	}
}

// TestKindInstall: on a two-node kind cluster, --dry-run changes nothing;
// a copy that fails on one node and a kubelet that fails on the other fail
// install, naming the node, with every kubelet still startable and the
// failed node put back; install then sets up every node (the kubelet's own
// plugin code gets a token on each) with a root-only key, no key left
// world-readable; status says all is well; a rerun changes
// nothing; a node restarted with `docker restart` keeps it all; a rerun with
// per-pod identity restarts the kubelets, applies the RBAC in the
// cluster's kubectl context, and pods pull as themselves; uninstall gives
// back every node byte for byte and deletes the RBAC.
func TestKindInstall(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "ci", 1)
	before := w.trees()

	out := w.install("--dry-run")
	for _, want := range []string{"Plan for kind cluster \"ci\" (ci-control-plane amd64, ci-worker amd64)", nodelayout.Binary, nodelayout.Credentials, nodelayout.ProviderConfig, "KUBELET_EXTRA_ARGS", "Dry run: nothing was changed"} {
		if !strings.Contains(out, want) {
			t.Errorf("the dry run does not say %q:\n%s", want, out)
		}
	}
	w.sameTrees("install --dry-run", before)

	// A copy that fails on the first node, then a kubelet on the second
	// that will not start with the flags: install fails naming the node and
	// what to do, and every kubelet still starts.
	first, second := w.nodes[0], w.nodes[1]
	for _, fault := range []struct {
		node   string
		inject func()
		want   string
	}{
		{first, func() { w.c.Fail("cp", first, "") }, "copying"},
		{second, func() { w.node(second).FailUnit("kubelet") }, "did not stay up"},
	} {
		fault.inject()
		out, code := w.gcrcred(nil, "install", "--name", w.cluster, "--credentials", w.key, "--dist", w.dist, "--kubelet-settle=0s")
		w.c.ClearFaults()
		w.node(second).ClearFaults()
		if code == 0 {
			t.Fatalf("install succeeded although %s failed:\n%s", fault.want, out)
		}
		for _, want := range []string{"node " + fault.node, fault.want, "rerun `gcrcred kind install --name ci`"} {
			if !strings.Contains(out, want) {
				t.Errorf("the failure does not say %q:\n%s", want, out)
			}
		}
		w.startable()
	}
	if d := fakecluster.Diff(before[second], w.node(second).Tree()); len(d) > 0 {
		t.Errorf("the node whose kubelet failed was not put back:\n  %s", strings.Join(d, "\n  "))
	}

	out = w.install()
	for _, want := range []string{"node binary linux/amd64: " + filepath.Join(w.dist, "gcrcred-linux-amd64") + " (gcrcred ", "sha256 ", "ci-worker: gcrcred node install ... done", "kubelet set-up: kind"} {
		if !strings.Contains(out, want) {
			t.Errorf("install does not say %q:\n%s", want, out)
		}
	}
	w.pulls(nil, "")
	for _, name := range w.nodes {
		fi, err := os.Stat(filepath.Join(w.node(name).Root, nodelayout.Credentials))
		if err != nil || fi.Mode().Perm() != 0o600 || fi.Sys().(*syscall.Stat_t).Uid != 0 {
			t.Errorf("node %s: credentials %v, %v; want 0600 root's", name, fi, err)
		}
	}
	if v := w.c.Violations(); v != "" {
		t.Errorf("a secret was world-readable on a node:\n%s", v)
	}
	if out, code := w.gcrcred(nil, "status", "--name", w.cluster); code != 0 || !strings.Contains(out, "All well") || strings.Count(out, "kubelet set-up: kind") != 2 {
		t.Errorf("status after install: exit %d\n%s", code, out)
	}

	installed, restarts := w.trees(), w.node("ci-worker").Restarts("kubelet")
	stamps := map[string]fakecluster.Tree{}
	for _, n := range w.nodes {
		stamps[n] = w.node(n).Stamps()
	}
	if out := w.install(); strings.Contains(out, " done") {
		t.Errorf("a rerun did something:\n%s", out)
	}
	w.sameTrees("a rerun", installed)
	for _, n := range w.nodes { // not even rewritten with the same bytes
		if d := fakecluster.Diff(stamps[n], w.node(n).Stamps()); len(d) > 0 {
			t.Errorf("a rerun rewrote files of node %s:\n  %s", n, strings.Join(d, "\n  "))
		}
	}
	if w.node("ci-worker").Restarts("kubelet") != restarts {
		t.Error("a rerun that changed nothing restarted a kubelet")
	}

	if out, err := w.c.Tool("docker", "restart", "ci-worker"); err != nil {
		t.Fatalf("docker restart: %v\n%s", err, out)
	}
	if args := w.node("ci-worker").KubeletArgs(); args[nodelayout.FlagProviderConfig] != nodelayout.ProviderConfig {
		t.Errorf("after docker restart the kubelet runs with %v", args)
	}
	w.sameTrees("docker restart", installed)

	p := fakecluster.NewPodIdentity(t, w.g)
	out = w.install(p.Flags()...)
	if w.node("ci-worker").Restarts("kubelet") != restarts+1 || !strings.Contains(out, "kubectl --context kind-ci apply -f -) ... done") {
		t.Errorf("a rerun with per-pod identity did not restart the kubelet once, or apply the RBAC:\n%s", out)
	}
	rules, _ := json.Marshal(w.c.APIObjects("kind-ci")["ClusterRole/"+hostinstall.RBACName]["rules"])
	if want := `[{"apiGroups":[""],"resources":["` + p.Audience + `"],"verbs":["request-serviceaccounts-token-audience"]}]`; string(rules) != want {
		t.Errorf("the ClusterRole's rules are %s, want %s", rules, want)
	}
	subjects, _ := json.Marshal(w.c.APIObjects("kind-ci")["ClusterRoleBinding/"+hostinstall.RBACName]["subjects"])
	if !strings.Contains(string(subjects), `"name":"system:nodes"`) {
		t.Errorf("the ClusterRoleBinding's subjects are %s", subjects)
	}
	w.nodes = w.nodes[1:] // the worker: enough to see pods pull as themselves
	w.pulls(func(n *fakecluster.Node) []string { return p.LookupArgs(n, "team-a/puller") }, p.Principal("team-a", "puller"))
	w.nodes = append([]string{"ci-control-plane"}, w.nodes...)

	out = w.must("uninstall", "--name", w.cluster, "--kubelet-settle=0s")
	w.sameTrees("install then uninstall", before)
	if objs := w.c.APIObjects("kind-ci"); len(objs) != 0 {
		t.Errorf("uninstall left %v in the cluster:\n%s", objs, out)
	}
	if out, code := w.gcrcred(nil, "status", "--name", w.cluster); code != 1 {
		t.Errorf("status after uninstall: exit %d\n%s", code, out)
	}
}

// TestKindPreflight: with neither kind nor docker nor credentials, install
// (even --dry-run) names all three at once, each with its fix; a cluster
// that does not exist (named by KIND_CLUSTER_NAME, as kind does) is named
// with how to find or make one; --help needs nothing; the per-pod flags go
// together.
func TestKindPreflight(t *testing.T) {
	t.Parallel()
	fakecluster.Require(t)
	w := &world{t: t, c: fakecluster.New(t, "unused", "")}
	bare := []string{"PATH=" + t.TempDir()} // a PATH of nothing, whatever this machine has
	for _, args := range [][]string{{"install"}, {"install", "--dry-run"}} {
		out, code := w.gcrcred(bare, args...)
		for _, want := range []string{"Missing (3)", "kind is not on PATH", "kind.sigs.k8s.io", "docker is not on PATH", "docs.docker.com", "no Google credentials found", "gcloud auth application-default login"} {
			if code != 1 || !strings.Contains(out, want) {
				t.Errorf("%v without kind, docker or credentials (exit %d) does not say %q:\n%s", args, code, want, out)
			}
		}
	}
	out, code := w.gcrcred([]string{"KIND_CLUSTER_NAME=nope"}, "status")
	if code != 1 || !strings.Contains(out, `kind cluster "nope" not found`) || !strings.Contains(out, "kind create cluster --name nope") {
		t.Errorf("status of a cluster that does not exist (KIND_CLUSTER_NAME): exit %d\n%s", code, out)
	}
	for _, c := range []struct {
		args      []string
		want, not string
	}{
		{[]string{"--help"}, "uninstall", "--name"},
		{[]string{"install", "--help"}, "--workload-identity FILE", ""},
		{[]string{"uninstall", "--help"}, "--name CLUSTER", "--workload-identity"},
	} {
		out, code := w.gcrcred(bare, c.args...)
		if code != 0 || !strings.Contains(out, c.want) || c.not != "" && strings.Contains(out, c.not) {
			t.Errorf("gcrcred kind %v without docker: exit %d\n%s", c.args, code, out)
		}
	}
	out, code = w.gcrcred(bare, "install", "--service-account-audience", "aud")
	if code != 2 || !strings.Contains(out, "go together") || !strings.Contains(out, "Run `gcrcred kind install --help`") {
		t.Errorf("--service-account-audience alone: exit %d\n%s", code, out)
	}
}

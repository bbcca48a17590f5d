package node_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/test/fakegoogle"
	"github.com/gcrcred/gcrcred/test/fakeminikube/fakecluster"
	"github.com/gcrcred/gcrcred/test/testbin"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(envSwapDir); dir != "" { // the attacker's side of TestDirectorySwapRace
		os.Exit(swapLoop(dir, os.Getenv(envSwapTarget)))
	}
	fakecluster.Main(m)
}

// world is a node root of one flavour (a busybox chroot whose systemctl
// and kubelet are the fake's), a fake Google on loopback and a
// service-account key for it.
type world struct {
	t   *testing.T
	n   *fakecluster.Node
	g   *fakegoogle.Google
	key string
}

func newWorld(t *testing.T, flavour string) *world {
	t.Helper()
	fakecluster.Require(t)
	g, key, _ := testbin.GoogleWithKey(t, "node")
	return &world{t: t, n: fakecluster.NewNode(t, flavour), g: g, key: key}
}

// gcrcred runs the built binary as `gcrcred node VERB --root ROOT ARGS...`.
func (w *world) gcrcred(verb string, args ...string) (string, int) {
	w.t.Helper()
	r := testbin.Run(w.t, testbin.Env(w.t), nil, "gcrcred", append([]string{"node", verb, "--root", w.n.Root}, args...)...)
	return r.Stdout + r.Stderr, r.Code
}

// must runs a command that has to succeed.
func (w *world) must(verb string, args ...string) string {
	w.t.Helper()
	out, code := w.gcrcred(verb, args...)
	if code != 0 {
		w.t.Fatalf("gcrcred node %s %v: exit %d\n%s", verb, args, code, out)
	}
	return out
}

func (w *world) install(args ...string) string {
	w.t.Helper()
	return w.must("install", append([]string{"--credentials", w.key, "--kubelet-settle", "0s"}, args...)...)
}

// sameTree fails the test where the node's tree differs from before.
func (w *world) sameTree(what string, before fakecluster.Tree) {
	w.t.Helper()
	if d := fakecluster.Diff(before, w.n.Tree()); len(d) > 0 {
		w.t.Errorf("%s changed the node:\n  %s", what, strings.Join(d, "\n  "))
	}
}

// record is the node's install record, byte for byte.
func (w *world) record() []byte {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(w.n.Root, strings.TrimPrefix(nodelayout.RecordFile, "/")))
	if err != nil {
		w.t.Fatalf("no install record: %v", err)
	}
	return b
}

// notRewritten fails the test where a run that changed nothing rewrote a
// node file, even with the same bytes (a new inode or change time), or
// changed the install record: a rerun writes nothing that has not changed.
func (w *world) notRewritten(what string, stamps fakecluster.Tree, record []byte) {
	w.t.Helper()
	if now := w.record(); !bytes.Equal(now, record) {
		w.t.Errorf("%s changed the install record:\n  before %s\n  now    %s", what, record, now)
	}
	if d := fakecluster.Diff(stamps, w.n.Stamps()); len(d) > 0 {
		w.t.Errorf("%s rewrote node files:\n  %s", what, strings.Join(d, "\n  "))
	}
}

// pulls checks the kubelet's own plugin code, run in the node with an
// empty environment against the flags the running kubelet has, gets a
// token from the fake Google for a gcr.io image.
func (w *world) pulls() {
	w.t.Helper()
	args := w.n.KubeletArgs()
	config, binDir := args["image-credential-provider-config"], args["image-credential-provider-bin-dir"]
	if config == "" || binDir == "" {
		w.t.Fatalf("the running kubelet has no provider flags: %v", args)
	}
	r, stderr, err := w.n.Lookup(config, binDir, "gcr.io/proj/img")
	if err != nil || !r.Found || r.Username != "oauth2accesstoken" || !w.g.Valid(r.Password) {
		w.t.Errorf("the kubelet's plugin lookup with %s, %s: found %v, valid token %v, err %v\n%s", config, binDir, r.Found, w.g.Valid(r.Password), err, stderr)
	}
}

func serviceOf(flavour string) string {
	switch flavour {
	case "k3s":
		return "k3s"
	case "rke2":
		return "rke2-agent"
	}
	return "kubelet"
}

func lastLine(s string) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	return ls[len(ls)-1]
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustStat(t *testing.T, p string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

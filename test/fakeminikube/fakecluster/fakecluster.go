// Package fakecluster drives test/fakeminikube for tests: it builds the fake
// minikube, starts profiles whose nodes are chroot root file systems, makes
// standalone node roots of every kubelet set-up `gcrcred node` knows (NewNode),
// runs programs inside nodes as root or as the docker user, and takes
// snapshots of node trees to compare. Tests using it need root; the node
// roots' userland (test/userland) is built from this repository.
package fakecluster

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/gcrcred/gcrcred/test/testbin"
)

// Require fails the test (or skips it, see testbin.Need) unless it can
// build nodes: root (chroot, chown).
func Require(t testing.TB) {
	t.Helper()
	testbin.NeedRoot(t)
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
	buildOut  []byte
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// EnvFakes names a directory where `make test` built the fake (as
// `minikube`) and the userland (as `userland`) once for every package,
// instead of each test process building them again.
const EnvFakes = "GCRCRED_TEST_FAKES_DIR"

// Build returns a directory holding the fake as `minikube` (and
// `fakenode`), built once per process (or taken from EnvFakes), static,
// since it also runs inside nodes (as systemctl, sudo, uname). The fake
// kind and docker are in its subdirectory kind/, the fake kubectl in
// kubectl/ (KindDir, KubectlDir), the node roots' userland in userland/.
func Build(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "fakeminikube-"); buildErr != nil {
			return
		}
		prebuilt := os.Getenv(EnvFakes)
		for _, b := range []struct{ out, pkg, name string }{
			{"minikube", "./test/fakeminikube", "minikube"},
			{"userland/userland", "./test/userland", "userland"},
		} {
			out := filepath.Join(binDir, b.out)
			if buildErr = os.MkdirAll(filepath.Dir(out), 0o755); buildErr != nil {
				return
			}
			if prebuilt != "" {
				// A copy of our own: node roots hard-link it, and a test
				// may chown what they link.
				if buildErr = testbin.CopyProgram(filepath.Join(prebuilt, b.name), out); buildErr != nil {
					buildErr = fmt.Errorf("%w (%s: make test builds it)", buildErr, EnvFakes)
					return
				}
				continue
			}
			cmd := exec.Command("go", "build", "-o", out, b.pkg)
			cmd.Dir = repoRoot()
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if buildOut, buildErr = cmd.CombinedOutput(); buildErr != nil {
				return
			}
		}
		links := []string{"fakenode", "no-openat2", "kind/kind", "kind/docker", "kubectl/kubectl"}
		for _, link := range links {
			p := filepath.Join(binDir, link)
			if buildErr = os.MkdirAll(filepath.Dir(p), 0o755); buildErr != nil {
				return
			}
			if buildErr = os.Symlink(filepath.Join(binDir, "minikube"), p); buildErr != nil {
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatalf("building the fake minikube: %v\n%s", buildErr, buildOut)
	}
	return binDir
}

// userland is the node roots' userland (test/userland) that Build built.
func userland(t testing.TB) string { return filepath.Join(Build(t), "userland", "userland") }

// NoOpenat2 is the fake's no-openat2: `no-openat2 ENOSYS|EPERM PROGRAM
// ARGS...` runs PROGRAM where openat2 fails with that errno.
func NoOpenat2(t testing.TB) string { return filepath.Join(Build(t), "no-openat2") }

// KindDir holds the fake `kind` and `docker`.
func (c *Cluster) KindDir() string { return filepath.Join(c.Bin, "kind") }

// KubectlDir holds the fake `kubectl`.
func (c *Cluster) KubectlDir() string { return filepath.Join(c.Bin, "kubectl") }

// Path is PATH with every fake first (minikube, kind, docker, kubectl),
// so that none of this machine's own is ever run.
func (c *Cluster) Path(rest ...string) string {
	return strings.Join(append([]string{c.Bin, c.KindDir(), c.KubectlDir()}, rest...), ":")
}

// Main is TestMain for a package whose tests use fakecluster: it runs the
// tests, then removes what Build and KubeletLookup built.
func Main(m *testing.M) {
	code := m.Run()
	RemoveBuilds()
	os.Exit(code)
}

// RemoveBuilds deletes what Build and KubeletLookup built; call it from
// TestMain after the tests ran.
func RemoveBuilds() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if lookupBin != "" {
		os.RemoveAll(filepath.Dir(lookupBin))
	}
}

// Cluster is one fake minikube profile and the environment around it.
type Cluster struct {
	t       testing.TB
	Profile string
	State   string // FAKE_MINIKUBE_STATE
	Home    string // MINIKUBE_HOME
	Bin     string // holds `minikube`
	Nodes   string // FAKE_MINIKUBE_NODES: flavor/arch of nodes 1, 2, ...
	Secret  string // FAKE_MINIKUBE_SECRET
}

// New makes an empty fake minikube world; Start creates profiles in it.
func New(t testing.TB, profile, nodes string) *Cluster {
	t.Helper()
	Require(t)
	dir := t.TempDir()
	c := &Cluster{t: t, Profile: profile, State: filepath.Join(dir, "state"), Home: filepath.Join(dir, "minikube-home"), Bin: Build(t), Nodes: nodes}
	for _, d := range []string{c.State, filepath.Join(c.Home, ".minikube", "files")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// WithProfile is another profile of the same minikube home (they share
// file sync, as real profiles do).
func (c *Cluster) WithProfile(profile string) *Cluster {
	other := *c
	other.Profile = profile
	return &other
}

// Env is the environment for the fake and for gcrcred's installer, with
// extra KEY=VALUE pairs appended (later ones win where it matters).
func (c *Cluster) Env(extra ...string) []string {
	env := []string{
		"PATH=" + c.Path(),
		"MINIKUBE_HOME=" + c.Home,
		"FAKE_MINIKUBE_STATE=" + c.State,
		"FAKE_MINIKUBE_NODES=" + c.Nodes,
		"FAKE_MINIKUBE_USERLAND=" + userland(c.t),
		"FAKE_MINIKUBE_SECRET=" + c.Secret,
		"HOME=" + filepath.Join(c.State, "host-home"),
	}
	return append(env, extra...)
}

// Minikube runs the fake and fails the test if it fails.
func (c *Cluster) Minikube(args ...string) string {
	c.t.Helper()
	out, err := c.TryMinikube(args...)
	if err != nil {
		c.t.Fatalf("minikube %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TryMinikube runs `minikube -p PROFILE args...` and returns its output.
func (c *Cluster) TryMinikube(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(c.Bin, "minikube"), append([]string{"-p", c.Profile}, args...)...)
	cmd.Env = c.Env()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// NodeNames lists the profile's nodes.
func (c *Cluster) NodeNames() []string {
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(c.Minikube("node", "list")), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

// Root is a node's root file system on the host.
func (c *Cluster) Root(node string) string {
	return filepath.Join(c.State, "profiles", c.Profile, "nodes", node, "root")
}

// ProfileConfigPath is the profile's config.json.
func (c *Cluster) ProfileConfigPath() string {
	return filepath.Join(c.Home, ".minikube", "profiles", c.Profile, "config.json")
}

// FileSyncDir is minikube's file sync directory.
func (c *Cluster) FileSyncDir() string { return filepath.Join(c.Home, ".minikube", "files") }

// ProfileConfig reads the profile's config.json.
func (c *Cluster) ProfileConfig() map[string]any {
	c.t.Helper()
	b, err := os.ReadFile(c.ProfileConfigPath())
	if err != nil {
		c.t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		c.t.Fatal(err)
	}
	return doc
}

// ExtraOptions are the profile's saved extra-config, as JSON.
func (c *Cluster) ExtraOptions() string {
	k, _ := c.ProfileConfig()["KubernetesConfig"].(map[string]any)
	b, _ := json.Marshal(k["ExtraOptions"])
	return string(b)
}

// Fail makes the fake fail verb (ssh, cp) on node when the command or
// destination contains substr ("" = always).
func (c *Cluster) Fail(verb, node, substr string) {
	c.t.Helper()
	line := strings.TrimSpace(verb + " " + node + " " + substr)
	f, err := os.OpenFile(filepath.Join(c.State, "faults"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	f.WriteString(line + "\n")
}

// ClearFaults removes every injected fault.
func (c *Cluster) ClearFaults() { os.Remove(filepath.Join(c.State, "faults")) }

// Violations are secrets the fake saw left world-readable by `cp`.
func (c *Cluster) Violations() string {
	b, _ := os.ReadFile(filepath.Join(c.State, "violations.log"))
	return string(b)
}

// User is who a program runs as inside a node.
type User struct {
	UID, GID uint32
	Groups   []uint32
	Home     string
}

// Root user.
var RootUser = User{Home: "/root"}

// DockerUser is the node's docker user with its login groups, read from
// the node's /etc/passwd and /etc/group.
func (c *Cluster) DockerUser(node string) User {
	u := User{UID: 1000, Home: "/home/docker"}
	for _, l := range readLines(filepath.Join(c.Root(node), "etc/passwd")) {
		if f := strings.Split(l, ":"); len(f) >= 6 && f[0] == "docker" {
			u.GID = atou(f[3])
		}
	}
	u.Groups = []uint32{u.GID}
	for _, l := range readLines(filepath.Join(c.Root(node), "etc/group")) {
		if f := strings.Split(l, ":"); len(f) >= 4 && strings.Contains(","+f[3]+",", ",docker,") {
			u.Groups = append(u.Groups, atou(f[2]))
		}
	}
	return u
}

// GroupID is a group's gid on a node.
func (c *Cluster) GroupID(node, group string) (uint32, bool) {
	for _, l := range readLines(filepath.Join(c.Root(node), "etc/group")) {
		if f := strings.Split(l, ":"); len(f) >= 3 && f[0] == group {
			return atou(f[2]), true
		}
	}
	return 0, false
}

// Exec runs argv inside a node of the profile as u, with exactly env, and stdin.
func (c *Cluster) Exec(node string, u User, env []string, stdin string, argv ...string) (stdout, stderr string, err error) {
	return c.Node(node).Exec(u, env, stdin, argv...)
}

func readLines(path string) []string {
	b, _ := os.ReadFile(path)
	return strings.Split(string(b), "\n")
}

func atou(s string) uint32 {
	var n uint32
	for _, r := range s {
		if r < '0' || r > '9' {
			return n
		}
		n = n*10 + uint32(r-'0')
	}
	return n
}

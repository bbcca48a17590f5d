package fakecluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gcrcred/gcrcred/test/fakeminikube/unitfile"
	"github.com/gcrcred/gcrcred/test/testbin"
)

var (
	lookupOnce sync.Once
	lookupBin  string
	lookupErr  error
	lookupOut  []byte
)

// KubeletLookup builds test/kubelet's kubelet-lookup (the kubelet's own
// credential provider plugin code), static, once per process (or takes
// the one `make test` built, GCRCRED_TEST_KUBELET_LOOKUP).
func KubeletLookup(t testing.TB) string {
	t.Helper()
	lookupOnce.Do(func() {
		// `make test` builds it first, outside any test's timeout.
		prebuilt := os.Getenv("GCRCRED_TEST_KUBELET_LOOKUP")
		if prebuilt != "" {
			if _, lookupErr = os.Stat(prebuilt); lookupErr != nil {
				return
			}
		}
		dir, err := os.MkdirTemp("", "kubelet-lookup-")
		if err != nil {
			lookupErr = err
			return
		}
		lookupBin = filepath.Join(dir, "kubelet-lookup")
		if prebuilt != "" {
			// On the temporary directories' file system, where node roots
			// hard-link it: 75 MB once per process, not once per node.
			if os.Link(prebuilt, lookupBin) != nil {
				lookupErr = testbin.CopyProgram(prebuilt, lookupBin)
			}
			return
		}
		cmd := exec.Command("go", "build", "-o", lookupBin, "./cmd/kubelet-lookup")
		cmd.Dir = filepath.Join(repoRoot(), "test", "kubelet")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		lookupOut, lookupErr = cmd.CombinedOutput()
	})
	if lookupErr != nil {
		t.Fatalf("building test/kubelet's kubelet-lookup: %v\n%s", lookupErr, lookupOut)
	}
	return lookupBin
}

// LookupResult is kubelet-lookup's answer.
type LookupResult struct {
	Found    bool   `json:"found"`
	Username string `json:"username"`
	Password string `json:"password"`
	// Results has one entry per service account (-sa) and image.
	Results []struct {
		Image          string `json:"image"`
		ServiceAccount string `json:"serviceAccount"`
		Found          bool   `json:"found"`
		Username       string `json:"username"`
		Password       string `json:"password"`
	} `json:"results"`
	TokenRequests int64 `json:"tokenRequests"`
}

// Lookup runs kubelet-lookup inside a node of the profile (see Node.Lookup).
func (c *Cluster) Lookup(node, config, binDir, image string, extra ...string) (LookupResult, string, error) {
	return c.Node(node).Lookup(config, binDir, image, extra...)
}

// KubeletFlags are the kubelet's flags as the node's unit files give them
// (kubelet.service and its drop-ins loaded as systemd loads them, by the
// fake systemctl's own loader, ExecStart= expanded; nil if it has no
// kubelet unit) and as the running kubelet has them (nil if none runs).
func (c *Cluster) KubeletFlags(node string) (unit, running map[string]string) {
	root := c.Root(node)
	if u, err := unitfile.Load(root, "kubelet"); err == nil {
		unit = flagMap(u.Argv(root))
	}
	if b, err := os.ReadFile(filepath.Join(root, "proc/4242/cmdline")); err == nil {
		running = flagMap(strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"))
	}
	return unit, running
}

func flagMap(argv []string) map[string]string {
	m := map[string]string{}
	for _, a := range argv {
		if k, v, ok := strings.Cut(strings.TrimLeft(a, "-"), "="); ok && strings.HasPrefix(a, "-") {
			m[k] = v
		}
	}
	return m
}

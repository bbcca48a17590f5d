// Package kubelet tests gcrcred against the kubelet's own credential provider
// code (k8s.io/kubernetes/pkg/credentialprovider/plugin). Registration keeps
// global state and succeeds once per process, so every scenario that registers
// a valid config runs in its own process: the cmd/kubelet-lookup tool, built
// here and run with the near-empty environment a kubelet has under systemd.
package kubelet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/gcrcred/gcrcred/test/fakegoogle"
	"github.com/gcrcred/gcrcred/test/testbin"
)

var (
	lookupOnce sync.Once
	lookupBin  string
	lookupErr  error
)

// kubeletLookup builds cmd/kubelet-lookup once per test process, with the
// test binary's own CGO_ENABLED so that the k8s.io packages compiled for the
// test are reused from the build cache (they take minutes to compile). Run
// the tests with CGO_ENABLED=0 to get the static binary the minikube
// installer's tests use.
func kubeletLookup(t *testing.T) string {
	t.Helper()
	lookupOnce.Do(func() {
		// `make test` builds it once (bin/kubelet-lookup): linking it again
		// here would cost seconds on every run.
		if prebuilt := os.Getenv("GCRCRED_TEST_KUBELET_LOOKUP"); prebuilt != "" {
			lookupBin = prebuilt
			_, lookupErr = os.Stat(prebuilt)
			return
		}
		dir, err := os.MkdirTemp("", "kubelet-lookup-bin-")
		if err != nil {
			lookupErr = err
			return
		}
		lookupBin = filepath.Join(dir, "kubelet-lookup")
		cmd := exec.Command("go", "build", "-o", lookupBin, "./cmd/kubelet-lookup")
		cmd.Env = append(os.Environ(), "CGO_ENABLED="+testCgoEnabled())
		if out, err := cmd.CombinedOutput(); err != nil {
			lookupErr = fmt.Errorf("building kubelet-lookup: %v\n%s", err, out)
		}
	})
	if lookupErr != nil {
		t.Fatal(lookupErr)
	}
	return lookupBin
}

func testCgoEnabled() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "CGO_ENABLED" {
				return s.Value
			}
		}
	}
	return "0"
}

func TestMain(m *testing.M) {
	code := m.Run()
	if lookupBin != "" && lookupBin != os.Getenv("GCRCRED_TEST_KUBELET_LOOKUP") {
		os.RemoveAll(filepath.Dir(lookupBin))
	}
	os.Exit(code)
}

func newGoogle(t *testing.T) *fakegoogle.Google { return testbin.Google(t) }

// kubeletConfig writes what `gcrcred kubelet-config args...` prints to a file.
func kubeletConfig(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(testbin.Build(t), "gcrcred"), append([]string{"kubelet-config"}, args...)...)
	cmd.Env = testbin.Env(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gcrcred kubelet-config %v: %v\n%s", args, err, stderr.String())
	}
	path := filepath.Join(t.TempDir(), "gcrcred-provider.yaml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// pluginBinDir is a kubelet bin dir holding "gcrcred": a shell wrapper that
// appends a line to a counter file and execs the real binary. It returns the
// dir and a function counting the executions.
func pluginBinDir(t *testing.T) (dir string, execs func() int) {
	t.Helper()
	dir = t.TempDir()
	counter := filepath.Join(t.TempDir(), "execs")
	real := filepath.Join(testbin.Build(t), "gcrcred")
	script := fmt.Sprintf("#!/bin/sh\necho exec >> '%s'\nexec '%s' \"$@\"\n", counter, real)
	if err := testbin.WriteProgram(filepath.Join(dir, "gcrcred"), []byte(script)); err != nil {
		t.Fatal(err)
	}
	return dir, func() int {
		b, _ := os.ReadFile(counter)
		return bytes.Count(b, []byte("\n"))
	}
}

// lookupOutput is cmd/kubelet-lookup's stdout.
type lookupOutput struct {
	Found        bool           `json:"found"`
	Username     string         `json:"username"`
	Password     string         `json:"password"`
	Execs        int            `json:"execs"`
	Lookups      int            `json:"lookups"`
	Results      []lookupResult `json:"results"`
	FirstResults []lookupResult `json:"firstResults"` // with -then-sa
}

// lookupResult is what the kubelet would pull one image with.
type lookupResult struct {
	Image          string `json:"image"`
	ServiceAccount string `json:"serviceAccount"`
	Found          bool   `json:"found"`
	Username       string `json:"username"`
	Password       string `json:"password"`
}

type lookupRun struct {
	out    lookupOutput
	stderr string
	code   int
}

// lookup runs kubelet-lookup. Its environment is empty but for
// GCE_METADATA_HOST, as a kubelet's under systemd (the kubelet passes its own
// environment to plugins, plus the config's env). GCE_METADATA_HOST points at
// a closed loopback port: without it, credential discovery on a Google VM
// would probe the real metadata address, which tests must never contact.
func lookup(t *testing.T, config, binDir string, args ...string) lookupRun {
	t.Helper()
	cmd := exec.Command(kubeletLookup(t), append([]string{"-config", config, "-bin-dir", binDir}, args...)...)
	cmd.Env = []string{"GCE_METADATA_HOST=" + testbin.ClosedLoopbackAddr(t)}
	cmd.Dir = "/" // where the kubelet runs from
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := lookupRun{stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
		return r
	case err != nil:
		t.Fatalf("running kubelet-lookup: %v", err)
	}
	if err := json.Unmarshal(stdout.Bytes(), &r.out); err != nil {
		t.Fatalf("kubelet-lookup printed %q: %v\nstderr: %s", stdout.String(), err, r.stderr)
	}
	return r
}

func imageArgs(images ...string) []string {
	var args []string
	for _, i := range images {
		args = append(args, "-image", i)
	}
	return args
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

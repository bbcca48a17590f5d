package wine

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/test/testbin"
)

// EnvRun, set to 1, runs the tests that drive Windows builds under Wine
// (`make test-windows` sets it; `make test` does not need Wine).
const EnvRun = "GCRCRED_TEST_WINE"

// TestDockerHelperOnWindows: the windows/amd64 build, run as Docker runs
// it, gets a token from a fake Google on 127.0.0.1 with a key file named
// by GCRCRED_CREDENTIALS, keeps it in %LOCALAPPDATA%\gcrcred and answers
// the next get from there without asking Google; configure-docker writes
// %USERPROFILE%\.docker\config.json; the node installer says it needs Linux.
func TestDockerHelperOnWindows(t *testing.T) {
	if os.Getenv(EnvRun) != "1" {
		t.Skip("runs under Wine with `make test-windows` (" + EnvRun + "=1)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	root := testbin.Root()
	p, err := Prepare(ctx, filepath.Join(root, "bin", "wine"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	bin := t.TempDir()
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(bin, "gcrcred.exe"), "./cmd/gcrcred")
	build.Dir = root
	build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building for windows/amd64: %v\n%s", err, out)
	}
	exe, _ := os.ReadFile(filepath.Join(bin, "gcrcred.exe"))
	os.WriteFile(filepath.Join(bin, "docker-credential-gcrcred.exe"), exe, 0o755)

	// Wine sets the profile's directories itself: find them in the prefix,
	// and start from none of gcrcred's files there.
	var local, profile string
	for name, dst := range map[string]*string{"LOCALAPPDATA": &local, "USERPROFILE": &profile} {
		v, err := p.Getenv(ctx, name)
		if err == nil {
			*dst, err = p.HostPath(v)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	os.RemoveAll(filepath.Join(local, "gcrcred"))
	os.RemoveAll(filepath.Join(profile, ".docker"))
	g, key, _ := testbin.GoogleWithKey(t, "windows-user")
	env := p.Env(
		"GCRCRED_CREDENTIALS="+Path(key),
		"GCRCRED_TEST_LOOPBACK_ENDPOINTS=1",
		"GCE_METADATA_HOST="+testbin.ClosedLoopbackAddr(t),
		"GCRCRED_TIMEOUT=5s",
	)
	run := func(stdin, exe string, args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.CommandContext(ctx, p.wine, append([]string{filepath.Join(bin, exe)}, args...)...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out.String()), errb.String(), code
	}

	var first, second struct{ Username, Secret string }
	out, stderr, code := run("gcr.io", "docker-credential-gcrcred.exe", "get")
	if code != 0 || json.Unmarshal([]byte(out), &first) != nil || first.Username != "oauth2accesstoken" || !g.Valid(first.Secret) {
		t.Fatalf("get: exit %d, %q\n%s", code, out, stderr)
	}
	out, stderr, code = run("https://gcr.io", "docker-credential-gcrcred.exe", "get")
	if code != 0 || json.Unmarshal([]byte(out), &second) != nil || second.Secret != first.Secret {
		t.Fatalf("second get: exit %d, %q\n%s", code, out, stderr)
	}
	if n := g.Count("token"); n != 1 {
		t.Errorf("two gets asked Google %d times, want once (the second from the cache)", n)
	}
	cached, _ := filepath.Glob(filepath.Join(local, "gcrcred", "*.json"))
	if len(cached) != 1 {
		t.Errorf("the token cache under %%LOCALAPPDATA%%\\gcrcred holds %v", cached)
	}
	if _, stderr, code = run("", "gcrcred.exe", "configure-docker"); code != 0 {
		t.Fatalf("configure-docker: exit %d\n%s", code, stderr)
	}
	cfg, err := os.ReadFile(filepath.Join(profile, ".docker", "config.json"))
	if err != nil || !strings.Contains(string(cfg), `"gcr.io": "gcrcred"`) {
		t.Fatalf("%%USERPROFILE%%\\.docker\\config.json: %v\n%s", err, cfg)
	}
	if _, stderr, code = run("", "gcrcred.exe", "node", "install"); code != 2 || !strings.Contains(stderr, "needs Linux") {
		t.Errorf("node install on Windows: exit %d\n%s", code, stderr)
	}
}

// Package testbin builds the gcrcred binary once per test process and gives
// tests a clean environment to run it in, so process-level tests exercise the
// real executable the way Docker and the kubelet do.
package testbin

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/internal/endpoint"
	"github.com/gcrcred/gcrcred/test/fakegoogle"
)

var (
	once     sync.Once
	dir      string
	buildErr error
	output   []byte
)

// Root is the repository root (where go.mod is).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Build returns the directory holding freshly built `gcrcred` and
// `docker-credential-gcrcred` (a symlink), built once per process.
func Build(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		// A prebuilt directory (CI builds once; developers can pin a binary).
		if d := os.Getenv("GCRCRED_TEST_BIN_DIR"); d != "" {
			dir = d
			_, buildErr = os.Stat(filepath.Join(d, "docker-credential-gcrcred"))
			return
		}
		removeStaleBuilds()
		dir = filepath.Join(os.TempDir(), fmt.Sprintf("gcrcred-bin-%d", os.Getpid()))
		if buildErr = os.MkdirAll(dir, 0o755); buildErr != nil {
			return
		}
		output, buildErr = build(dir)
		if buildErr == nil {
			buildErr = os.Symlink("gcrcred", filepath.Join(dir, "docker-credential-gcrcred"))
		}
	})
	if buildErr != nil {
		t.Fatalf("building gcrcred: %v\n%s", buildErr, output)
	}
	return dir
}

// removeStaleBuilds deletes the build directories of test processes that
// have exited (a test binary has no hook that runs after every package).
func removeStaleBuilds() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "gcrcred-bin-*"))
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), "gcrcred-bin-"))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(d)
		}
	}
}

// build builds gcrcred as `make build` does: one plain static program.
func build(dir string) ([]byte, error) {
	cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "gcrcred"), "./cmd/gcrcred")
	cmd.Dir = Root()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	return cmd.CombinedOutput()
}

// EnvAllowSkip, set to 1, lets tests that need something this machine lacks
// (root, or a program such as Wine) skip instead of fail. `make test` reports
// how many skipped; CI never sets it.
const EnvAllowSkip = "GCRCRED_TEST_ALLOW_SKIP"

// Need fails the test, or skips it under GCRCRED_TEST_ALLOW_SKIP=1, when ok
// is false; what says what is missing and how to get it.
func Need(t testing.TB, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv(EnvAllowSkip) == "1" {
		t.Skip("skipped (" + EnvAllowSkip + "=1): " + what)
	}
	t.Fatal(what + " (or set " + EnvAllowSkip + "=1 to skip such tests)")
}

// NeedRoot is Need for tests that change owners, chroot or switch users.
func NeedRoot(t testing.TB) {
	t.Helper()
	Need(t, os.Geteuid() == 0, "this test needs root (file owners, chroot, a second user): run `make test` as root, as CI does")
}

// Google starts a fake Google on loopback for the test.
func Google(t testing.TB) *fakegoogle.Google {
	t.Helper()
	g, err := fakegoogle.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

// GoogleWithKey is a fake Google and a service-account key file it knows,
// named after the account.
func GoogleWithKey(t testing.TB, account string) (g *fakegoogle.Google, keyFile, email string) {
	t.Helper()
	g = Google(t)
	keyFile, email, err := g.WriteServiceAccountKey(t.TempDir(), account)
	if err != nil {
		t.Fatal(err)
	}
	return g, keyFile, email
}

// ClosedLoopbackAddr is a 127.0.0.1 address nothing listens on: tests point
// GCE_METADATA_HOST at it so no test ever probes the real metadata address.
func ClosedLoopbackAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// Env is a minimal environment for running the binary: PATH with only the
// built binaries (gcrcred executes nothing else, and what the machine has in
// /usr/bin, a gcloud or a docker, must not decide a test), a private HOME, a cache dir, GCE_METADATA_HOST on loopback
// (a closed port unless overridden), a short GCRCRED_TIMEOUT, the test
// switch GCRCRED_TEST_LOOPBACK_ENDPOINTS=1, then extra KEY=VALUE pairs
// (later wins).
func Env(t testing.TB, extra ...string) []string {
	t.Helper()
	// A 5 s budget (20 s by default) shortens every retry back-off and
	// wait, so no test sits out the defaults; tests may override it.
	return Merge(baseEnv(t, Build(t), "5s"), extra...)
}

// baseEnv is a test's environment built from nothing: PATH the directory
// path, a private HOME with the cache and Docker's config under it, no
// metadata server (a closed loopback port), GCRCRED_TIMEOUT timeout, and
// the endpoint test switch (the fakes are on 127.0.0.1: it lets them pass
// the Google endpoint rule of internal/endpoint; only tests set it).
func baseEnv(t testing.TB, path, timeout string) []string {
	home := t.TempDir()
	return []string{
		"PATH=" + path,
		"HOME=" + home,
		"GCRCRED_CACHE_DIR=" + filepath.Join(home, "cache"),
		"GCE_METADATA_HOST=" + ClosedLoopbackAddr(t),
		"DOCKER_CONFIG=" + filepath.Join(home, ".docker"),
		"GCRCRED_TIMEOUT=" + timeout,
		endpoint.EnvTestLoopback + "=1",
	}
}

// Tools is a directory holding only the named programs of this machine (as
// links), for a test that runs something which needs them (a shell script
// needs its shell and utilities) on a PATH the test builds itself: a test
// never puts the machine's own directories on PATH, so what else the
// machine happens to have installed cannot change its result.
func Tools(t testing.TB, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range names {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("this test runs %s, which is not on this machine's PATH: %v", name, err)
		}
		if err := os.Symlink(p, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Merge sets KEY=VALUE pairs in env, replacing earlier values of KEY.
func Merge(env []string, kv ...string) []string {
	out := append([]string{}, env...)
	for _, p := range kv {
		k, _, _ := strings.Cut(p, "=")
		out = Unset(out, k)
		out = append(out, p)
	}
	return out
}

// Unset removes KEY from env.
func Unset(env []string, key string) []string {
	out := env[:0:0]
	for _, p := range env {
		if !strings.HasPrefix(p, key+"=") {
			out = append(out, p)
		}
	}
	return out
}

// Result is what a run of the binary did.
type Result struct {
	Stdout, Stderr string
	Code           int
	Took           time.Duration
}

// Run executes the built binary under name (gcrcred or
// docker-credential-gcrcred) with env and stdin, within a minute (the
// kubelet's limit), and fails the test on a panic trace: bad input must get
// a clear error, never a crash.
func Run(t testing.TB, env []string, stdin []byte, name string, args ...string) Result {
	t.Helper()
	return RunWith(t, Options{Env: env, Stdin: bytes.NewReader(stdin)}, name, args...)
}

// Options are how RunWith starts the binary.
type Options struct {
	Env   []string
	Stdin io.Reader // nil: empty
	// User, if set, runs the binary as that uid and gid with no
	// supplementary groups (the test must be root): a second, unprivileged
	// user on the same machine.
	User *syscall.Credential
}

// RunWith is Run with more control over how the process starts.
func RunWith(t testing.TB, o Options, name string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(Build(t), name), args...)
	cmd.Env = o.Env
	cmd.Stdin = o.Stdin
	if o.User != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: o.User}
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String(), Took: time.Since(start)}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.Code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s %v: %v", name, args, err)
	}
	if all := r.Stdout + r.Stderr; strings.Contains(all, "goroutine ") || strings.Contains(all, "panic:") {
		t.Fatalf("%s %v panicked:\n%s", name, args, all)
	}
	return r
}

// Foreign is a listener that stands for a host that is not Google's: an
// HTTP server on 127.0.0.2 (loopback on Linux, so nothing leaves the
// machine, yet never an allowed endpoint, even under the test switch). It
// answers 500 to everything, and counts and keeps what it is sent, so a
// test can show that nothing reached it.
type Foreign struct {
	URL     string // "http://127.0.0.2:PORT"
	mu      sync.Mutex
	got     []string
	handler http.Handler
}

// NewForeign starts a Foreign for the test.
func NewForeign(t testing.TB) *Foreign {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("listening on 127.0.0.2 (loopback on Linux): %v", err)
	}
	f := &Foreign{URL: "http://" + l.Addr().String()}
	f.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		f.mu.Lock()
		f.got = append(f.got, r.Method+" "+r.Host+r.URL.String()+"\n"+string(body))
		f.mu.Unlock()
		http.Error(w, "not Google", http.StatusInternalServerError)
	})
	srv := &http.Server{Handler: f.handler, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return f
}

// TLS makes the listener reachable as the named hosts (names of the
// attacker's, such as oauth2.evil.example) over https: a second listener on
// 127.0.0.2 with a certificate for them, behind a CONNECT proxy on
// loopback. A process run with HTTPS_PROXY=proxyURL and SSL_CERT_FILE=caFile
// that sends to https://HOST/ reaches it, and nothing leaves the machine.
// What it is sent is kept with the rest (Requests).
func (f *Foreign) TLS(t testing.TB, hosts ...string) (caFile, proxyURL string) {
	t.Helper()
	caPEM, cert, err := fakegoogle.NewCertificate(hosts...)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "foreign-ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("listening on 127.0.0.2 (loopback on Linux): %v", err)
	}
	srv := &http.Server{Handler: f.handler, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}}))
	t.Cleanup(func() { srv.Close() })
	proxyURL, closeProxy, err := fakegoogle.StartConnectProxy(l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeProxy)
	return caFile, proxyURL
}

// Requests are what the listener was sent: method, host, URL and body of each.
func (f *Foreign) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...)
}

// Command bench times whole processes, the way Docker and the kubelet pay for
// them: a warm `docker-credential-gcrcred get` and `gcrcred get-credentials`
// against a hello-world Go binary (the floor of starting any Go process) and
// against docker-credential-gcr, all on the fake Google on loopback.
// Run with `make bench` (which builds bin/ first).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/test/fakegoogle"
)

var (
	runs    = flag.Int("n", 200, "runs per command")
	binDir  = flag.String("bin", "bin", "directory holding gcrcred and docker-credential-gcrcred")
	skipGCR = flag.Bool("skip-peer", false, "do not install and time docker-credential-gcr")
	compare = flag.String("compare", "", "comma-separated directories of other builds (gcrcred and docker-credential-gcrcred) whose warm get and version are timed in the same round-robin, for before/after figures")
)

type row struct {
	name          string
	median, p90   time.Duration
	tokenRequests string
	note          string
}

func main() {
	flag.Parse()
	if err := benchmark(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func benchmark() error {
	work, err := os.MkdirTemp("", "gcrcred-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin, err := filepath.Abs(*binDir)
	if err != nil {
		return err
	}
	g, err := fakegoogle.New()
	if err != nil {
		return err
	}
	defer g.Close()
	sa, _, err := g.WriteServiceAccountKey(work, "bench")
	if err != nil {
		return err
	}
	user, _, err := g.WriteAuthorizedUser(work, "bench-user")
	if err != nil {
		return err
	}

	hello, err := buildHello(work)
	if err != nil {
		return err
	}
	closed := "127.0.0.1:9" // discard port: nothing listens; never the real metadata address
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + work, "GCE_METADATA_HOST=" + closed,
		"GCRCRED_CACHE_DIR=" + filepath.Join(work, "cache"), "GCRCRED_CREDENTIALS=" + sa,
		"GCRCRED_TEST_LOOPBACK_ENDPOINTS=1"} // the test switch: the fake Google is on 127.0.0.1

	helper := filepath.Join(bin, "docker-credential-gcrcred")
	gcrcred := filepath.Join(bin, "gcrcred")
	userEnv := replace(env, "GCRCRED_CREDENTIALS="+user)
	req := `{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"us-docker.pkg.dev/proj/repo/app:1"}`
	cases := []*benchCase{
		{name: "hello-world Go binary (floor)", path: hello, env: env},
		{name: "docker-credential-gcrcred get (warm, service account)", path: helper, args: []string{"get"}, stdin: "gcr.io", env: env, count: true},
		{name: "docker-credential-gcrcred get (warm, authorized_user)", path: helper, args: []string{"get"}, stdin: "gcr.io", env: userEnv},
		{name: "gcrcred get-credentials (warm, kubelet exec)", path: gcrcred, args: []string{"get-credentials"}, stdin: req, env: env, count: true},
		{name: "docker-credential-gcrcred get (not a Google host)", path: helper, args: []string{"get"}, stdin: "https://index.docker.io/v1/", env: env, exitOK: 1},
		{name: "docker-credential-gcrcred get (cold cache: mints at the fake token endpoint)", path: helper, args: []string{"get"}, stdin: "gcr.io", env: env, cold: true},
		{name: "gcrcred version (start-up, no cache read)", path: gcrcred, args: []string{"version"}, env: env},
	}
	for _, dir := range strings.Split(*compare, ",") {
		if dir == "" {
			continue
		}
		if dir, err = filepath.Abs(dir); err != nil {
			return err
		}
		cases = append(cases,
			&benchCase{name: "docker-credential-gcrcred get (warm, service account), " + dir, path: filepath.Join(dir, "docker-credential-gcrcred"), args: []string{"get"}, stdin: "gcr.io", env: env},
			&benchCase{name: "gcrcred get-credentials (warm), " + dir, path: filepath.Join(dir, "gcrcred"), args: []string{"get-credentials"}, stdin: req, env: env},
			&benchCase{name: "gcrcred version, " + dir, path: filepath.Join(dir, "gcrcred"), args: []string{"version"}, env: env})
	}
	if !*skipGCR {
		cases = append(cases, peerCases(g, work, sa, user)...)
	}
	rows := measure(g, cases, filepath.Join(work, "cache"))
	printTable(rows, rows[0].median)
	return nil
}

// peerCases installs docker-credential-gcr into a temporary directory to time
// it on the same fake. It ignores token_uri in authorized_user files, so its
// calls to oauth2.googleapis.com go through a local CONNECT proxy to the
// fake's TLS listener, trusted through SSL_CERT_FILE.
func peerCases(g *fakegoogle.Google, work, sa, user string) []*benchCase {
	const name = "docker-credential-gcr"
	gobin := filepath.Join(work, "peer")
	install := exec.Command("go", "install", "github.com/GoogleCloudPlatform/docker-credential-gcr/v2@latest")
	install.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-mod=mod")
	if out, err := install.CombinedOutput(); err != nil {
		return []*benchCase{{name: name, note: "not installed: " + firstLine(string(out))}}
	}
	peer := filepath.Join(gobin, name)
	ca, addr, err := g.StartTLS()
	if err != nil {
		return []*benchCase{{name: name, note: err.Error()}}
	}
	proxy, _, err := fakegoogle.StartConnectProxy(addr) // lives as long as the bench
	if err != nil {
		return []*benchCase{{name: name, note: err.Error()}}
	}
	base := []string{"PATH=/usr/bin:/bin", "HOME=" + work, "GCE_METADATA_HOST=127.0.0.1:9",
		"HTTPS_PROXY=" + proxy, "SSL_CERT_FILE=" + ca, "NO_PROXY="}
	return []*benchCase{
		{name: name + " get (authorized_user)", path: peer, args: []string{"get"}, stdin: "gcr.io",
			env: append(base, "GOOGLE_APPLICATION_CREDENTIALS="+user), count: true},
		{name: name + " get (service account)", path: peer, args: []string{"get"}, stdin: "gcr.io",
			env: append(base, "GOOGLE_APPLICATION_CREDENTIALS="+sa), count: true,
			note: "signs its own JWT access token: no request, token not checked by Google until use"},
	}
}

func buildHello(work string) (string, error) {
	dir := filepath.Join(work, "hello")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module hello\n\ngo 1.21\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644)
	out := filepath.Join(work, "hello-bin")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building hello world: %v: %s", err, b)
	}
	return out, nil
}

type benchCase struct {
	name, path, stdin string
	args, env         []string
	exitOK            int  // the exit code that means success (Docker's not-found is 1)
	count             bool // also count token requests per 100 calls from a cold cache
	cold              bool // every run with an empty cache directory of its own
	note              string
	times             []time.Duration
}

func (c *benchCase) run() error {
	cmd := exec.Command(c.path, c.args...)
	cmd.Env = c.env
	if c.cold {
		dir, err := os.MkdirTemp("", "gcrcred-bench-cold-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cmd.Env = replace(c.env, "GCRCRED_CACHE_DIR="+dir)
	}
	cmd.Stdin = strings.NewReader(c.stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == c.exitOK {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%v: %s", err, firstLine(out.String()))
	}
	return nil
}

// measure primes every case (the warm cases need their token cached), then
// times them round-robin, so that a change in the machine's load touches
// every command alike, then counts token requests.
func measure(g *fakegoogle.Google, cases []*benchCase, cacheDir string) []row {
	var live []*benchCase
	for _, c := range cases {
		if c.path == "" {
			continue
		}
		if err := c.run(); err != nil {
			c.note = "failed: " + err.Error()
			continue
		}
		live = append(live, c)
	}
	// Each round in its own random order: a case's timing depends on what
	// ran just before it (the cold-cache case keeps the fake busy as the
	// next process starts), and a fixed order would give one case that
	// neighbour every time.
	order := rand.New(rand.NewSource(1))
	for i := 0; i < *runs; i++ {
		order.Shuffle(len(live), func(a, b int) { live[a], live[b] = live[b], live[a] })
		for _, c := range live {
			start := time.Now()
			if err := c.run(); err != nil {
				c.note = "failed: " + err.Error()
			}
			c.times = append(c.times, time.Since(start))
		}
	}
	var rows []row
	for _, c := range cases {
		r := row{name: c.name, note: c.note}
		if len(c.times) > 0 {
			sort.Slice(c.times, func(i, j int) bool { return c.times[i] < c.times[j] })
			r.median, r.p90 = c.times[len(c.times)/2], c.times[len(c.times)*9/10]
		}
		if c.count && len(c.times) > 0 {
			os.RemoveAll(cacheDir)
			g.ResetCounts()
			for i := 0; i < 100; i++ {
				c.run()
			}
			r.tokenRequests = fmt.Sprint(g.Count("token") + g.Count("sts") + g.Count("iam"))
		}
		rows = append(rows, r)
	}
	return rows
}

func printTable(rows []row, floor time.Duration) {
	fmt.Printf("\nWhole-process wall time, %d runs each, %s\n\n", *runs, time.Now().UTC().Format("2006-01-02"))
	fmt.Println("| command | median | p90 | × floor | token requests per 100 calls (cold cache) | note |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, r := range rows {
		if r.median == 0 {
			fmt.Printf("| %s | – | – | – | – | %s |\n", r.name, r.note)
			continue
		}
		tr := r.tokenRequests
		if tr == "" {
			tr = "–"
		}
		fmt.Printf("| %s | %s | %s | %.2f | %s | %s |\n", r.name, ms(r.median), ms(r.p90), float64(r.median)/float64(floor), tr, r.note)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func replace(env []string, kv string) []string {
	k, _, _ := strings.Cut(kv, "=")
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, k+"=") {
			out = append(out, e)
		}
	}
	return append(out, kv)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

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
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/fakegoogle"
)

var (
	runs    = flag.Int("n", 200, "runs per command")
	binDir  = flag.String("bin", "bin", "directory holding gcrcred and docker-credential-gcrcred")
	skipGCR = flag.Bool("skip-peer", false, "do not install and time docker-credential-gcr")
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
		"GCRCRED_CACHE_DIR=" + filepath.Join(work, "cache"), "GCRCRED_CREDENTIALS=" + sa}

	var rows []row
	floor := timeIt("hello-world Go binary (floor)", hello, nil, "", env)
	rows = append(rows, floor)

	helper := filepath.Join(bin, "docker-credential-gcrcred")
	if _, err := run(helper, []string{"get"}, "gcr.io", env); err != nil { // warm the cache
		return fmt.Errorf("priming the cache: %w", err)
	}
	r := timeIt("docker-credential-gcrcred get (warm, service account)", helper, []string{"get"}, "gcr.io", env)
	r.tokenRequests = perHundred(g, helper, []string{"get"}, "gcr.io", env, filepath.Join(work, "cache"))
	rows = append(rows, r)

	userEnv := replace(env, "GCRCRED_CREDENTIALS="+user)
	if _, err := run(helper, []string{"get"}, "gcr.io", userEnv); err != nil {
		return err
	}
	r = timeIt("docker-credential-gcrcred get (warm, authorized_user)", helper, []string{"get"}, "gcr.io", userEnv)
	rows = append(rows, r)

	req := `{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"us-docker.pkg.dev/proj/repo/app:1"}`
	gcrcred := filepath.Join(bin, "gcrcred")
	if out, err := run(gcrcred, []string{"get-credentials"}, req, env); err != nil {
		rows = append(rows, row{name: "gcrcred get-credentials (warm)", note: "failed: " + firstLine(out)})
	} else {
		r = timeIt("gcrcred get-credentials (warm, kubelet exec)", gcrcred, []string{"get-credentials"}, req, env)
		r.tokenRequests = perHundred(g, gcrcred, []string{"get-credentials"}, req, env, filepath.Join(work, "cache"))
		rows = append(rows, r)
	}

	if !*skipGCR {
		rows = append(rows, peerRows(g, work, sa, user)...)
	}
	printTable(rows, floor.median)
	return nil
}

// peerRows installs docker-credential-gcr into a temporary directory and
// times it on the same fake. It ignores token_uri in authorized_user files,
// so its calls to oauth2.googleapis.com go through a local CONNECT proxy to
// the fake's TLS listener, trusted through SSL_CERT_FILE.
func peerRows(g *fakegoogle.Google, work, sa, user string) []row {
	const name = "docker-credential-gcr"
	gobin := filepath.Join(work, "peer")
	install := exec.Command("go", "install", "github.com/GoogleCloudPlatform/docker-credential-gcr/v2@latest")
	install.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-mod=mod")
	if out, err := install.CombinedOutput(); err != nil {
		return []row{{name: name, note: "not installed: " + firstLine(string(out))}}
	}
	peer := filepath.Join(gobin, name)
	ca, addr, err := g.StartTLS()
	if err != nil {
		return []row{{name: name, note: err.Error()}}
	}
	proxy, closeProxy, err := fakegoogle.StartConnectProxy(addr)
	if err != nil {
		return []row{{name: name, note: err.Error()}}
	}
	defer closeProxy()
	base := []string{"PATH=/usr/bin:/bin", "HOME=" + work, "GCE_METADATA_HOST=127.0.0.1:9",
		"HTTPS_PROXY=" + proxy, "SSL_CERT_FILE=" + ca, "NO_PROXY="}

	var rows []row
	userEnv := append(base, "GOOGLE_APPLICATION_CREDENTIALS="+user)
	if out, err := run(peer, []string{"get"}, "gcr.io", userEnv); err != nil {
		rows = append(rows, row{name: name + " get (authorized_user)", note: "failed: " + firstLine(out)})
	} else {
		r := timeIt(name+" get (authorized_user)", peer, []string{"get"}, "gcr.io", userEnv)
		r.tokenRequests = perHundred(g, peer, []string{"get"}, "gcr.io", userEnv, "")
		rows = append(rows, r)
	}
	saEnv := append(base, "GOOGLE_APPLICATION_CREDENTIALS="+sa)
	if out, err := run(peer, []string{"get"}, "gcr.io", saEnv); err != nil {
		rows = append(rows, row{name: name + " get (service account)", note: "failed: " + firstLine(out)})
	} else {
		r := timeIt(name+" get (service account)", peer, []string{"get"}, "gcr.io", saEnv)
		r.tokenRequests = perHundred(g, peer, []string{"get"}, "gcr.io", saEnv, "")
		r.note = "signs its own JWT access token: no request, token not checked by Google until use"
		rows = append(rows, r)
	}
	return rows
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

func run(path string, args []string, stdin string, env []string) (string, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// timeIt runs the command *runs times and reports median and p90 wall time.
func timeIt(name, path string, args []string, stdin string, env []string) row {
	d := make([]time.Duration, 0, *runs)
	for i := 0; i < *runs; i++ {
		start := time.Now()
		if out, err := run(path, args, stdin, env); err != nil {
			return row{name: name, note: "failed: " + firstLine(out)}
		}
		d = append(d, time.Since(start))
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return row{name: name, median: d[len(d)/2], p90: d[len(d)*9/10]}
}

// perHundred counts token-minting requests (token, STS, IAM) the fake sees
// during 100 calls that start from an empty cache.
func perHundred(g *fakegoogle.Google, path string, args []string, stdin string, env []string, cacheDir string) string {
	if cacheDir != "" {
		os.RemoveAll(cacheDir)
	}
	g.ResetCounts()
	for i := 0; i < 100; i++ {
		if _, err := run(path, args, stdin, env); err != nil {
			return "error"
		}
	}
	return fmt.Sprint(g.Count("token") + g.Count("sts") + g.Count("iam"))
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

package fastpath_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/gcrcred/gcrcred/internal/auth"
	"github.com/gcrcred/gcrcred/internal/fakegoogle"
	"github.com/gcrcred/gcrcred/internal/fastpath"
	"github.com/gcrcred/gcrcred/internal/testbin"
	"github.com/gcrcred/gcrcred/internal/tokenstore"
	"github.com/gcrcred/gcrcred/provider/kubeletapi"
)

// The point of the fast path is what it does not link. If this fails, the
// warm Docker and kubelet calls pay the full program's start-up again.
func TestLauncherLinksNoHTTPOrOAuth(t *testing.T) {
	// The embedded full program only needs to exist; an empty stand-in will do.
	dir := t.TempDir()
	payload := filepath.Join(dir, "payload")
	os.WriteFile(payload, nil, 0o644)
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {
		filepath.Join(testbin.Root(), "internal", "launcher", "gcrcred-full"): payload}})
	os.WriteFile(filepath.Join(dir, "overlay.json"), overlay, 0o644)
	cmd := exec.Command("go", "list", "-deps", "-tags", "launcher", "-overlay", filepath.Join(dir, "overlay.json"), "./cmd/gcrcred")
	cmd.Dir = testbin.Root()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, heavy := range []string{"net/http", "crypto/tls", "golang.org/x/oauth2", "sigs.k8s.io/yaml", "debug/elf"} {
		for _, dep := range strings.Fields(string(out)) {
			if dep == heavy || strings.HasPrefix(dep, heavy+"/") {
				t.Errorf("the launcher links %s", dep)
			}
		}
	}
}

// isolate clears what credential discovery reads and points the cache at a
// temp dir.
func isolate(t *testing.T) (cacheDir string) {
	for _, k := range []string{"GCRCRED_CREDENTIALS", "GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", "GCRCRED_SCOPES", "GCRCRED_AUTH", "GCRCRED_REGISTRIES", "XDG_CONFIG_HOME", "GCRCRED_CONFIG_DIR", "XDG_CACHE_HOME"} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("PATH", t.TempDir())
	t.Setenv("GCE_METADATA_HOST", testbin.ClosedLoopbackAddr(t))
	cacheDir = filepath.Join(t.TempDir(), "cache")
	t.Setenv("GCRCRED_CACHE_DIR", cacheDir)
	return cacheDir
}

// seed caches a token under the key the full program (internal/auth) uses:
// the fast path must find exactly that entry, for every credential type.
func seed(t *testing.T, cacheDir string, expiry time.Time) string {
	src, err := auth.Discover(auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tok := "ya29.cached-" + src.Kind
	if err := tokenstore.EnsureDir(cacheDir); err != nil {
		t.Fatal(err)
	}
	if err := tokenstore.Write(cacheDir, src.CacheKey(), tokenstore.Token{AccessToken: tok, Expiry: expiry}); err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestAnswersFromTheFullProgramsCacheEntry(t *testing.T) {
	g, err := fakegoogle.New()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	dir := t.TempDir()
	sa, _, _ := g.WriteServiceAccountKey(dir, "sa")
	user, _, _ := g.WriteAuthorizedUser(dir, "user")
	ext, _, _ := g.WriteExternalAccount(dir, "ext")
	imp, _, _ := g.WriteImpersonated(dir, "imp")
	for _, file := range []string{sa, user, ext, imp} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			cache := isolate(t)
			t.Setenv("GCRCRED_CREDENTIALS", file)
			tok := seed(t, cache, time.Now().Add(time.Hour))

			var out bytes.Buffer
			if fastpath.Docker([]byte("https://us.gcr.io\n"), &out) != fastpath.Answered {
				t.Fatal("docker get declined with a fresh cached token")
			}
			var c credentials.Credentials
			if err := json.Unmarshal(out.Bytes(), &c); err != nil || c.Secret != tok || c.Username != "oauth2accesstoken" || c.ServerURL != "https://us.gcr.io" {
				t.Fatalf("docker answer %q (%v)", out.String(), err)
			}

			out.Reset()
			req := `{"apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","kind":"CredentialProviderRequest","image":"us-docker.pkg.dev/p/r/i:1"}`
			if !fastpath.Kubelet(nil, []byte(req), &out) {
				t.Fatal("get-credentials declined with a fresh cached token")
			}
			var resp kubeletapi.CredentialProviderResponse
			if err := json.Unmarshal(out.Bytes(), &resp); err != nil {
				t.Fatal(err)
			}
			if resp.APIVersion != kubeletapi.APIVersionV1beta1 || resp.Auth["us-docker.pkg.dev"].Password != tok || resp.CacheDuration == nil || resp.CacheDuration.Duration < 50*time.Minute {
				t.Fatalf("kubelet answer %s", out.String())
			}
		})
	}
}

func TestDeclinesWhatOnlyTheFullProgramCanAnswer(t *testing.T) {
	g, err := fakegoogle.New()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	sa, _, _ := g.WriteServiceAccountKey(t.TempDir(), "sa")
	cases := []struct {
		name  string
		setup func(t *testing.T, cache string)
		input string
	}{
		{"cold cache", func(t *testing.T, cache string) {}, "gcr.io"},
		{"token inside the re-mint margin", func(t *testing.T, cache string) { seed(t, cache, time.Now().Add(tokenstore.Margin-time.Second)) }, "gcr.io"},
		{"json-key mode", func(t *testing.T, cache string) {
			seed(t, cache, time.Now().Add(time.Hour))
			t.Setenv("GCRCRED_AUTH", "json-key")
		}, "gcr.io"},
		{"empty input", func(t *testing.T, cache string) { seed(t, cache, time.Now().Add(time.Hour)) }, ""},
		{"other scopes", func(t *testing.T, cache string) {
			seed(t, cache, time.Now().Add(time.Hour))
			t.Setenv("GCRCRED_SCOPES", "https://www.googleapis.com/auth/devstorage.read_only")
		}, "gcr.io"},
		{"broken credentials file", func(t *testing.T, cache string) {
			seed(t, cache, time.Now().Add(time.Hour))
			bad := filepath.Join(t.TempDir(), "bad.json")
			os.WriteFile(bad, []byte("{"), 0o600)
			t.Setenv("GCRCRED_CREDENTIALS", bad)
		}, "gcr.io"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cache := isolate(t)
			t.Setenv("GCRCRED_CREDENTIALS", sa)
			c.setup(t, cache)
			var out bytes.Buffer
			if fastpath.Docker([]byte(c.input), &out) != fastpath.Declined || out.Len() > 0 {
				t.Fatalf("answered %q", out.String())
			}
		})
	}
	// Other hosts get the protocol's not-found, as the full program answers.
	var out bytes.Buffer
	if fastpath.Docker([]byte("https://index.docker.io/v1/"), &out) != fastpath.NotFound || out.String() != "credentials not found in native keychain\n" {
		t.Fatalf("docker.io: %q", out.String())
	}
	// The kubelet: bad requests are the full program's to explain.
	cache := isolate(t)
	t.Setenv("GCRCRED_CREDENTIALS", sa)
	seed(t, cache, time.Now().Add(time.Hour))
	for _, req := range []string{"", "{", "[]", `{"apiVersion":"credentialprovider.kubelet.k8s.io/v9","kind":"CredentialProviderRequest","image":"gcr.io/p/i"}`} {
		var out bytes.Buffer
		if fastpath.Kubelet(nil, []byte(req), &out) || out.Len() > 0 {
			t.Fatalf("answered %q for %q", out.String(), req)
		}
	}
}

// Through the real launcher binary: a warm call gives byte for byte what the
// full program gives, and the full program is not run for it.
func TestLauncherAnswersLikeTheFullProgram(t *testing.T) {
	g, err := fakegoogle.New()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	sa, _, _ := g.WriteServiceAccountKey(t.TempDir(), "sa")
	env := testbin.Env(t, "GCRCRED_CREDENTIALS="+sa)
	bin := testbin.Build(t)
	run := func(env []string, stdin, name string, args ...string) (string, string) {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %v: %v: %s%s", name, args, err, out.String(), errb.String())
		}
		return out.String(), errb.String()
	}
	run(env, "gcr.io", "docker-credential-gcrcred", "get") // mint and cache
	debug := testbin.Merge(env, "GCRCRED_LOG=debug")
	fast, fastLog := run(debug, "gcr.io", "docker-credential-gcrcred", "get")
	full, fullLog := run(testbin.Merge(debug, "GCRCRED_NO_FASTPATH=1"), "gcr.io", "docker-credential-gcrcred", "get")
	if fast != full {
		t.Fatalf("fast path %q, full program %q", fast, full)
	}
	if fastLog != "" || !strings.Contains(fullLog, "using cached token") {
		t.Fatalf("the warm call ran the full program (debug log %q), or the full one did not (%q)", fastLog, fullLog)
	}
	for _, e := range [][]string{env, testbin.Merge(env, "GCRCRED_NO_FASTPATH=1")} {
		cmd := exec.Command(filepath.Join(bin, "docker-credential-gcrcred"), "get")
		cmd.Env, cmd.Stdin = e, strings.NewReader("https://index.docker.io/v1/")
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || string(out) != "credentials not found in native keychain\n" {
			t.Fatalf("docker.io: %v %q", err, out)
		}
	}
	req := `{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"gcr.io/p/i"}`
	fastK, _ := run(env, req, "gcrcred", "get-credentials")
	fullK, _ := run(testbin.Merge(env, "GCRCRED_NO_FASTPATH=1"), req, "gcrcred", "get-credentials")
	var a, b kubeletapi.CredentialProviderResponse
	json.Unmarshal([]byte(fastK), &a)
	json.Unmarshal([]byte(fullK), &b)
	// cacheDuration counts down between the two calls; all else is equal.
	if a.Auth["gcr.io"] != b.Auth["gcr.io"] || a.TypeMeta != b.TypeMeta || a.CacheKeyType != b.CacheKeyType ||
		b.CacheDuration.Duration-a.CacheDuration.Duration > 5*time.Second || a.CacheDuration.Duration-b.CacheDuration.Duration > 5*time.Second {
		t.Fatalf("fast path %s, full program %s", fastK, fullK)
	}
	if g.Count("token") != 1 {
		t.Fatalf("token requests = %d, want 1", g.Count("token"))
	}
}

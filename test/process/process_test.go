// Package process_test holds the tests of what only a process shows: exit
// statuses, the bound on stdin, the docker-credential- name Docker and
// registry clients run, and many processes sharing one token cache. They
// run the binary `make build` wrote (testbin.Build) in an environment
// built from nothing (testbin.Env). Everything else about the front ends
// is tested in-process, in helper/ and provider/.
package process_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/internal/kubeletapi"
	"github.com/gcrcred/gcrcred/test/fakegoogle"
	"github.com/gcrcred/gcrcred/test/testbin"
)

type result = testbin.Result

func run(t *testing.T, env []string, stdin string, name string, args ...string) result {
	t.Helper()
	return testbin.Run(t, env, []byte(stdin), name, args...)
}

func newGoogle(t *testing.T) *fakegoogle.Google { return testbin.Google(t) }

func googleWithKey(t *testing.T) (g *fakegoogle.Google, keyFile, email string) {
	return testbin.GoogleWithKey(t, "builder")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// getCredentials runs `gcrcred get-credentials args...` with env and stdin.
func getCredentials(t *testing.T, env []string, stdin []byte, args ...string) result {
	t.Helper()
	return testbin.Run(t, env, stdin, "gcrcred", append([]string{"get-credentials"}, args...)...)
}

// TestUnknownCommandExits2: the plain name rejects unknown commands with a
// one-line hint, not the whole usage, and exit 2.
func TestUnknownCommandExits2(t *testing.T) {
	if r := run(t, testbin.Env(t), "", "gcrcred", "frobnicate"); r.Code != 2 || !strings.Contains(r.Stderr, "unknown command") || strings.Count(r.Stderr, "\n") != 2 {
		t.Fatalf("gcrcred frobnicate: code %d stderr %q", r.Code, r.Stderr)
	}
}

// TestDeveloperSettingsDoNotLeak: the environment of a process test is
// built from nothing, so what a developer exports (a key, another cache,
// json-key mode) never reaches the binary under test.
func TestDeveloperSettingsDoNotLeak(t *testing.T) {
	for _, kv := range []string{"GCRCRED_AUTH=json-key", "GCRCRED_CACHE_DIR=/nonexistent/leaked", "GCRCRED_REGISTRIES=leaked.example.com"} {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	g, sa, _ := googleWithKey(t)
	r := run(t, testbin.Env(t, "GCRCRED_CREDENTIALS="+sa), "gcr.io", "docker-credential-gcrcred", "get")
	if r.Code != 0 || !strings.Contains(r.Stdout, "oauth2accesstoken") || g.Count("token") != 1 {
		t.Fatalf("a developer's variables reached the binary: exit %d, %s%s", r.Code, r.Stdout, r.Stderr)
	}
	if r := run(t, testbin.Env(t), "leaked.example.com", "docker-credential-gcrcred", "get"); strings.TrimSpace(r.Stdout) != "credentials not found in native keychain" {
		t.Fatalf("GCRCRED_REGISTRIES leaked: %s", r.Stdout)
	}
}

func TestCacheColdStartMintsOnce(t *testing.T) {
	t.Parallel()
	g, sa, _ := googleWithKey(t)
	env := testbin.Env(t, "GCRCRED_CREDENTIALS="+sa)
	testbin.Build(t)

	const n = 20
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			r := run(t, env, "gcr.io", "docker-credential-gcrcred", "get")
			if r.Code != 0 {
				errs[i] = r.Stdout + r.Stderr
			}
		}(i)
	}
	close(start)
	wg.Wait()
	for i, e := range errs {
		if e != "" {
			t.Fatalf("process %d failed: %s", i, e)
		}
	}
	if c := g.Count("token"); c != 1 {
		t.Fatalf("%d processes started together caused %d token requests, want 1", n, c)
	}
	for i := 0; i < 50; i++ {
		if r := run(t, env, "gcr.io", "docker-credential-gcrcred", "get"); r.Code != 0 {
			t.Fatalf("warm get %d: %s", i, r.Stdout)
		}
	}
	if c := g.Count("token"); c != 1 {
		t.Fatalf("50 warm gets caused %d more token requests, want 0", c-1)
	}
	// Cache files are private.
	cache := envValue(env, "GCRCRED_CACHE_DIR")
	if fi, _ := os.Stat(cache); fi.Mode().Perm() != 0o700 {
		t.Fatalf("cache dir mode %v, want 0700", fi.Mode().Perm())
	}
	files, _ := filepath.Glob(filepath.Join(cache, "*.json"))
	if len(files) != 1 {
		t.Fatalf("cache files: %v", files)
	}
	if fi, _ := os.Stat(files[0]); fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache file mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestHelperVersion: the protocol's `version` verb names the helper and the
// same version `gcrcred version` reports.
func TestHelperVersion(t *testing.T) {
	t.Parallel()
	r := run(t, testbin.Env(t), "", "docker-credential-gcrcred", "version")
	want := "docker-credential-gcrcred (github.com/gcrcred/gcrcred) "
	v := run(t, testbin.Env(t), "", "gcrcred", "version")
	fields := strings.Fields(v.Stdout)
	if r.Code != 0 || len(fields) < 2 || strings.TrimSpace(r.Stdout) != want+fields[1] {
		t.Errorf("version: exit %d %q, want %q + the version of %q", r.Code, r.Stdout, want, v.Stdout)
	}
}

func TestGetCredentialsRejectsBadInput(t *testing.T) {
	v1 := kubeletapi.APIVersionV1
	huge := append([]byte(`{"apiVersion":"`+v1+`","kind":"CredentialProviderRequest","image":"gcr.io/p/`), bytes.Repeat([]byte("a"), 16<<20)...)
	huge = append(huge, `"}`...)
	cases := []struct {
		name  string
		stdin []byte
		want  string
	}{
		{"empty", nil, "empty request"},
		{"open brace", []byte("{"), "not valid JSON (truncated)"},
		{"array", []byte("[]"), "JSON array"},
		{"wrong kind", []byte(`{"apiVersion":"` + v1 + `","kind":"CredentialProviderResponse","image":"gcr.io/p/i"}`), `kind is "CredentialProviderResponse"`},
		{"unknown apiVersion", testbin.KubeletRequest("credentialprovider.kubelet.k8s.io/v2", "gcr.io/p/i"), "is not supported"},
		{"empty image", testbin.KubeletRequest(v1, ""), "empty image"},
		{"16 MiB", huge, "more than 1024 KiB on stdin"},
	}
	env := testbin.Env(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := getCredentials(t, env, c.stdin)
			testbin.MustFailForKubelet(t, r, c.want)
			if r.Took > 5*time.Second {
				t.Fatalf("took %s to refuse bad input", r.Took)
			}
		})
	}
}

func TestGetCredentialsBadFlagExits2(t *testing.T) {
	r := getCredentials(t, testbin.Env(t), testbin.KubeletRequest(kubeletapi.APIVersionV1, "gcr.io/p/i"), "--no-such-flag")
	if r.Code != 2 || r.Stdout != "" || !strings.Contains(r.Stderr, "unknown flag --no-such-flag") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
}

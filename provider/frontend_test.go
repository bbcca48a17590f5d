package provider_test

// The kubelet front end in-process: get-credentials called as main calls
// it (request on stdin, reply on stdout, stderr shown only on failure),
// with settings parsed from an environment built from nothing
// (testbin.InEnv), against the fake Google on loopback. What only a
// process shows (exit status, the stdin bound) is in test/process.

import (
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/kubeletapi"
	"github.com/gcrcred/gcrcred/internal/settings"
	"github.com/gcrcred/gcrcred/provider"
	"github.com/gcrcred/gcrcred/test/fakegoogle"
	"github.com/gcrcred/gcrcred/test/testbin"
)

type result = testbin.Result

// getCredentials runs `gcrcred get-credentials args...` with env and
// stdin, in-process.
func getCredentials(t *testing.T, env []string, stdin []byte, args ...string) result {
	t.Helper()
	return runCommand(t, provider.GetCredentialsCommand(), env, stdin, args...)
}

// runCommand runs `gcrcred CMD args...` in-process with env and stdin.
func runCommand(t testing.TB, cmd *cli.Command, env []string, stdin []byte, args ...string) result {
	t.Helper()
	return testbin.InProcess(t, env, stdin, func(s settings.Settings, in io.Reader, stdout, stderr io.Writer) int {
		return cli.RunAlone(cmd, s, args, in, stdout, stderr)
	})
}

// decodeResponse decodes strictly, as the kubelet does.
func decodeResponse(t *testing.T, r result) kubeletapi.CredentialProviderResponse {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("get-credentials exit %d: %s", r.Code, r.Stderr)
	}
	dec := json.NewDecoder(strings.NewReader(r.Stdout))
	dec.DisallowUnknownFields()
	var resp kubeletapi.CredentialProviderResponse
	if err := dec.Decode(&resp); err != nil {
		t.Fatalf("response does not decode: %v\n%s", err, r.Stdout)
	}
	return resp
}

func newGoogle(t *testing.T) *fakegoogle.Google { return testbin.Google(t) }

// keyEnv is an environment with a fresh service-account key of g.
func keyEnv(t *testing.T, g *fakegoogle.Google, extra ...string) (env []string, keyPath, email string) {
	t.Helper()
	keyPath, email, err := g.WriteServiceAccountKey(t.TempDir(), "puller")
	if err != nil {
		t.Fatal(err)
	}
	return testbin.InEnv(t, append([]string{"GCRCRED_CREDENTIALS=" + keyPath}, extra...)...), keyPath, email
}

func TestGetCredentialsAnswersEveryVersionAndRegistry(t *testing.T) {
	g := newGoogle(t)
	env, _, email := keyEnv(t, g)
	images := []string{
		"gcr.io/proj/img:1",
		"eu.gcr.io/proj/img",
		"us-docker.pkg.dev/proj/repo/img@sha256:0123",
		"docker.us-central1.rep.pkg.dev/proj/repo/img",
	}
	for _, v := range kubeletapi.APIVersions {
		for _, image := range images {
			resp := decodeResponse(t, getCredentials(t, env, testbin.KubeletRequest(v, image)))
			host := kubeletapi.RegistryOf(image)
			if resp.APIVersion != v || resp.Kind != "CredentialProviderResponse" || resp.CacheKeyType != "Registry" {
				t.Fatalf("%s %s: header %+v", v, image, resp.TypeMeta)
			}
			a, ok := resp.Auth[host]
			if !ok || len(resp.Auth) != 1 {
				t.Fatalf("%s %s: auth %v, want exactly key %q", v, image, keys(resp.Auth), host)
			}
			if a.Username != "oauth2accesstoken" || !g.Valid(a.Password) || g.TokenSubject(a.Password) != email {
				t.Fatalf("%s %s: username %q, token valid=%v for %q", v, image, a.Username, g.Valid(a.Password), g.TokenSubject(a.Password))
			}
			// A fresh one-hour token: remaining lifetime minus the 5 minute margin.
			if d := resp.CacheDuration; d == nil || d.Duration > 55*time.Minute || d.Duration < 54*time.Minute {
				t.Fatalf("%s %s: cacheDuration %v, want just under 55m", v, image, d)
			}
		}
	}
	if n := g.Count("token"); n != 1 {
		t.Fatalf("%d token requests for %d answers: the disk cache should make it 1", n, len(images)*3)
	}
}

func TestGetCredentialsCacheDurationFollowsTokenLifetime(t *testing.T) {
	g := newGoogle(t)
	cases := []struct {
		lifetime, min, max time.Duration
	}{
		{10 * time.Minute, 4*time.Minute + 50*time.Second, 5 * time.Minute},
		{4 * time.Minute, 0, 0}, // less than the margin left: "0s", the kubelet must not cache
	}
	for _, c := range cases {
		g.SetTokenLifetime(c.lifetime)
		env, _, _ := keyEnv(t, g)
		r := getCredentials(t, env, testbin.KubeletRequest(kubeletapi.APIVersionV1, "gcr.io/p/i"))
		resp := decodeResponse(t, r)
		if d := resp.CacheDuration; d == nil || d.Duration < c.min || d.Duration > c.max {
			t.Fatalf("token living %s: cacheDuration %v, want %s..%s", c.lifetime, d, c.min, c.max)
		}
		if c.max == 0 && !strings.Contains(r.Stdout, `"cacheDuration":"0s"`) {
			t.Fatalf("zero cacheDuration must be written, not omitted (omitted means the config default): %s", r.Stdout)
		}
	}
}

func TestGetCredentialsAcceptsServiceAccountToken(t *testing.T) {
	g := newGoogle(t)
	env, _, _ := keyEnv(t, g)
	req := []byte(`{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest",` +
		`"image":"gcr.io/p/i","serviceAccountToken":"eyJhbGciOi.fake.sa","serviceAccountAnnotations":{"iam.gke.io/gcp-service-account":"x@y"}}`)
	resp := decodeResponse(t, getCredentials(t, env, req))
	if !g.Valid(resp.Auth["gcr.io"].Password) {
		t.Fatalf("no valid token: %+v", resp)
	}
}

func TestGetCredentialsOtherRegistryGetsEmptyAuth(t *testing.T) {
	g := newGoogle(t)
	for name, env := range map[string][]string{
		"with credentials": func() []string { e, _, _ := keyEnv(t, g); return e }(),
		"without any":      testbin.InEnv(t),
	} {
		r := getCredentials(t, env, testbin.KubeletRequest(kubeletapi.APIVersionV1beta1, "docker.io/library/nginx:latest"))
		resp := decodeResponse(t, r)
		if len(resp.Auth) != 0 || resp.CacheKeyType != "Registry" || resp.APIVersion != kubeletapi.APIVersionV1beta1 {
			t.Fatalf("%s: %s", name, r.Stdout)
		}
		if resp.CacheDuration != nil {
			t.Fatalf("%s: cacheDuration %v, want none (the config default)", name, resp.CacheDuration)
		}
	}
	if n := g.Count("token"); n != 0 {
		t.Fatalf("%d token requests for a registry we do not serve", n)
	}
}

func TestGetCredentialsExtraRegistryFromEnv(t *testing.T) {
	g := newGoogle(t)
	env, _, _ := keyEnv(t, g, "GCRCRED_REGISTRIES=registry.example.com:5000")
	resp := decodeResponse(t, getCredentials(t, env, testbin.KubeletRequest(kubeletapi.APIVersionV1, "registry.example.com:5000/team/app")))
	if !g.Valid(resp.Auth["registry.example.com:5000"].Password) {
		t.Fatalf("extra registry got %v", keys(resp.Auth))
	}
}

func TestGetCredentialsWithoutCredentialsFailsClearly(t *testing.T) {
	r := getCredentials(t, testbin.InEnv(t), testbin.KubeletRequest(kubeletapi.APIVersionV1, "gcr.io/p/i"))
	testbin.MustFailForKubelet(t, r, "no credentials for gcr.io")
	if !strings.Contains(r.Stderr, "GCRCRED_CREDENTIALS") {
		t.Fatalf("no next step in %q", r.Stderr)
	}

	// A configured file that is gone is a different problem, named as such.
	missing := filepath.Join(t.TempDir(), "deleted.json")
	r = getCredentials(t, testbin.InEnv(t, "GCRCRED_CREDENTIALS="+missing), testbin.KubeletRequest(kubeletapi.APIVersionV1, "gcr.io/p/i"))
	testbin.MustFailForKubelet(t, r, "credentials for gcr.io: GCRCRED_CREDENTIALS")
	if !strings.Contains(r.Stderr, missing) {
		t.Fatalf("stderr does not name the missing file: %q", r.Stderr)
	}
}

func TestGetCredentialsFlagsInsteadOfEnv(t *testing.T) {
	g := newGoogle(t)
	key, _, err := g.WriteServiceAccountKey(t.TempDir(), "flags")
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(t.TempDir(), "cache")
	env := testbin.Unset(testbin.InEnv(t), "GCRCRED_CACHE_DIR")
	for i := 0; i < 2; i++ {
		resp := decodeResponse(t, getCredentials(t, env, testbin.KubeletRequest(kubeletapi.APIVersionV1, "gcr.io/p/i"), "--credentials", key, "--cache-dir", cache))
		if !g.Valid(resp.Auth["gcr.io"].Password) {
			t.Fatalf("no valid token")
		}
	}
	if n := g.Count("token"); n != 1 {
		t.Fatalf("%d token requests: --cache-dir was not used", n)
	}
}

func TestGetCredentialsJSONKeyMode(t *testing.T) {
	g := newGoogle(t)
	env, _, _ := keyEnv(t, g, "GCRCRED_AUTH=json-key")
	resp := decodeResponse(t, getCredentials(t, env, testbin.KubeletRequest(kubeletapi.APIVersionV1, "europe-docker.pkg.dev/p/r/i")))
	a := resp.Auth["europe-docker.pkg.dev"]
	if a.Username != "_json_key" || !g.KnownServiceAccountKey([]byte(a.Password)) {
		t.Fatalf("json-key: username %q, key known=%v", a.Username, g.KnownServiceAccountKey([]byte(a.Password)))
	}
	if resp.CacheDuration != nil || g.Count("token") != 0 {
		t.Fatalf("json-key: cacheDuration %v, %d token requests; want neither", resp.CacheDuration, g.Count("token"))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

package provider_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/internal/kubeletapi"
	"github.com/gcrcred/gcrcred/test/fakegoogle"
	"github.com/gcrcred/gcrcred/test/testbin"
)

// The kubelet kills a plugin after 60 s; gcrcred must give up well before,
// with a line the kubelet's log shows. The tests run with GCRCRED_TIMEOUT=2s
// (20 s by default), so giving up must take about that.
const giveUpWithin = 5 * time.Second

func TestGetCredentialsTokenEndpointDown(t *testing.T) {
	t.Parallel()
	g := newGoogle(t)
	env, _, _ := keyEnv(t, g, "GCRCRED_TIMEOUT=2s")
	g.Fail("token", fakegoogle.Fault{Status: 500})
	r := getCredentials(t, env, testbin.KubeletRequest(kubeletapi.APIVersionV1, "gcr.io/p/i"))
	testbin.MustFailForKubelet(t, r, "credentials for gcr.io: minting token")
	if !strings.Contains(r.Stderr, "500") || r.Took > giveUpWithin {
		t.Fatalf("after %s: %s", r.Took, r.Stderr)
	}
	if n := g.Count("token"); n < 2 {
		t.Fatalf("%d attempts: a 500 deserves a retry", n)
	}
}

func TestGetCredentialsTokenEndpointHangs(t *testing.T) {
	t.Parallel()
	g := newGoogle(t)
	env, _, _ := keyEnv(t, g, "GCRCRED_TIMEOUT=500ms")
	g.Fail("token", fakegoogle.Fault{Hang: true})
	r := getCredentials(t, env, testbin.KubeletRequest(kubeletapi.APIVersionV1, "gcr.io/p/i"))
	testbin.MustFailForKubelet(t, r, "credentials for gcr.io: minting token")
	if r.Took > giveUpWithin {
		t.Fatalf("gave up only after %s", r.Took)
	}
	if !strings.Contains(r.Stderr, "within 200ms") {
		t.Fatalf("the error should say how long each attempt waited: %s", r.Stderr)
	}
	t.Logf("gave up on a hanging token endpoint after %s: %s", r.Took.Round(time.Millisecond), strings.TrimSpace(r.Stderr))
}

func TestGetCredentialsServesCachedTokenWhileEndpointDown(t *testing.T) {
	t.Parallel()
	g := newGoogle(t)
	env, _, _ := keyEnv(t, g)
	first := decodeResponse(t, getCredentials(t, env, testbin.KubeletRequest(kubeletapi.APIVersionV1, "gcr.io/p/i")))
	g.Fail("token", fakegoogle.Fault{Status: 500})
	before := g.Count("token")
	second := decodeResponse(t, getCredentials(t, env, testbin.KubeletRequest(kubeletapi.APIVersionV1, "us.gcr.io/p/i")))
	if second.Auth["us.gcr.io"].Password != first.Auth["gcr.io"].Password || !g.Valid(second.Auth["us.gcr.io"].Password) {
		t.Fatal("a fresh cached token was not served while the endpoint is down")
	}
	if g.Count("token") != before {
		t.Fatal("a fresh cached token should not even ask the endpoint")
	}
}

func TestGetCredentialsServesNearlyExpiredTokenWhileEndpointDown(t *testing.T) {
	t.Parallel()
	g := newGoogle(t)
	// Inside the margin: the cache tries to re-mint, fails, and falls back to
	// the still-valid token; the kubelet is told not to cache it ("0s").
	g.SetTokenLifetime(4 * time.Minute)
	env, _, _ := keyEnv(t, g)
	first := decodeResponse(t, getCredentials(t, env, testbin.KubeletRequest(kubeletapi.APIVersionV1, "gcr.io/p/i")))
	g.Fail("token", fakegoogle.Fault{Status: 500})
	r := getCredentials(t, env, testbin.KubeletRequest(kubeletapi.APIVersionV1, "gcr.io/p/i"))
	second := decodeResponse(t, r)
	if second.Auth["gcr.io"].Password != first.Auth["gcr.io"].Password || !g.Valid(second.Auth["gcr.io"].Password) {
		t.Fatalf("still-valid cached token not served; stderr: %s", r.Stderr)
	}
	if second.CacheDuration == nil || second.CacheDuration.Duration != 0 {
		t.Fatalf("cacheDuration %v, want 0s for a token inside the margin", second.CacheDuration)
	}
}

func TestGetCredentialsDebugLogHoldsNoSecret(t *testing.T) {
	t.Parallel()
	g := newGoogle(t)
	dir := t.TempDir()
	key, _, err := g.WriteServiceAccountKey(dir, "debug-sa")
	must(t, err)
	user, _, err := g.WriteAuthorizedUser(dir, "debug-user")
	must(t, err)
	secrets := append(fileSecrets(t, key, "private_key", "private_key_id"), fileSecrets(t, user, "refresh_token", "client_secret")...)

	for _, cred := range []string{key, user} {
		env := testbin.InEnv(t, "GCRCRED_CREDENTIALS="+cred, "GCRCRED_LOG=debug")
		ok := getCredentials(t, env, testbin.KubeletRequest(kubeletapi.APIVersionV1, "gcr.io/p/i"))
		token := decodeResponse(t, ok).Auth["gcr.io"].Password
		cached := getCredentials(t, env, testbin.KubeletRequest(kubeletapi.APIVersionV1, "gcr.io/p/i"))
		g.Fail("token", fakegoogle.Fault{Status: 401, Times: 3})
		failed := getCredentials(t, testbin.InEnv(t, "GCRCRED_CREDENTIALS="+cred, "GCRCRED_LOG=debug"), testbin.KubeletRequest(kubeletapi.APIVersionV1, "gcr.io/p/i"))
		g.Fail("token", fakegoogle.Fault{})
		if failed.Code == 0 {
			t.Fatalf("401 should fail: %s", failed.Stdout)
		}
		if !strings.Contains(ok.Stderr, "debug:") {
			t.Fatalf("GCRCRED_LOG=debug logged nothing: %q", ok.Stderr)
		}
		for _, s := range append(secrets, token) {
			for _, r := range []result{ok, cached, failed} {
				if strings.Contains(r.Stderr, s) {
					t.Fatalf("stderr holds a secret (%d bytes):\n%s", len(s), r.Stderr)
				}
			}
		}
	}
}

// fileSecrets returns the values of fields of a credentials file; for a PEM
// key, each body line too, so a partial leak is caught.
func fileSecrets(t *testing.T, path string, fields ...string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	var m map[string]any
	must(t, json.Unmarshal(b, &m))
	var out []string
	for _, f := range fields {
		v, _ := m[f].(string)
		if v == "" {
			t.Fatalf("%s has no %s", path, f)
		}
		out = append(out, v)
		for _, line := range strings.Split(v, "\n") {
			if len(line) > 20 && !strings.HasPrefix(line, "-----") {
				out = append(out, line)
			}
		}
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

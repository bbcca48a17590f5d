package helper_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker-credential-helpers/client"

	"github.com/gcrcred/gcrcred/test/fakegoogle"
	"github.com/gcrcred/gcrcred/test/testbin"
)

func TestTransientFailureIsRetried(t *testing.T) {
	t.Parallel()
	g, sa, _ := googleWithKey(t)
	g.Fail("token", fakegoogle.Fault{Status: 500, Times: 1})
	creds, err := client.Get(program(t, testbin.InEnv(t, "GCRCRED_CREDENTIALS="+sa)), "gcr.io")
	if err != nil || !g.Valid(creds.Secret) {
		t.Fatalf("500 then OK: %v", err)
	}
	if c := g.Count("token"); c != 2 {
		t.Fatalf("token requests = %d, want 2 (one failure, one retry)", c)
	}
}

// Endpoints that never recover: the helper must fail with a clear error, in
// bounded time, and never hang a docker pull. GCRCRED_TIMEOUT shortens the
// budget (20 s by default) so the hang costs the test 2 s.
func TestPermanentFailuresFailFast(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		fault fakegoogle.Fault
		want  string
	}{
		{"500 forever", fakegoogle.Fault{Status: 500}, "500"},
		{"hang", fakegoogle.Fault{Hang: true}, "no answer"},
		{"garbage", fakegoogle.Fault{Garbage: true}, "minting token"},
		{"403 denied", fakegoogle.Fault{Status: 403}, "403"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			g, sa, email := googleWithKey(t)
			g.Fail("token", c.fault)
			r := run(t, testbin.InEnv(t, "GCRCRED_CREDENTIALS="+sa, "GCRCRED_TIMEOUT=500ms"), "gcr.io", "docker-credential-gcrcred", "get")
			if r.Code == 0 {
				t.Fatal("get succeeded against a broken token endpoint")
			}
			if r.Took > 5*time.Second {
				t.Fatalf("took %s with a 500ms budget", r.Took)
			}
			msg := r.Stdout // the protocol puts errors on stdout
			if !strings.Contains(msg, c.want) || !strings.Contains(msg, email) || strings.Contains(msg, "credentials not found") {
				t.Fatalf("error %q should name the cause (%q) and the account", msg, c.want)
			}
			t.Logf("%s: failed in %s: %s", c.name, r.Took.Round(time.Millisecond), strings.TrimSpace(msg))
		})
	}
}

func TestCachedTokenServedWhileEndpointDown(t *testing.T) {
	t.Parallel()
	g, sa, _ := googleWithKey(t)
	env := testbin.InEnv(t, "GCRCRED_CREDENTIALS="+sa)
	p := program(t, env)
	first, err := client.Get(p, "gcr.io")
	must(t, err)
	g.Fail("token", fakegoogle.Fault{Status: 503})
	again, err := client.Get(p, "gcr.io")
	if err != nil || again.Secret != first.Secret {
		t.Fatalf("fresh cached token not served while the endpoint is down: %v", err)
	}

	// A token inside the re-mint margin (4 min left < 5) is still valid: if
	// minting a new one fails, it is served, with a warning.
	g.Fail("token", fakegoogle.Fault{})
	g.SetTokenLifetime(4 * time.Minute)
	must(t, os.RemoveAll(envValue(env, "GCRCRED_CACHE_DIR")))
	short, err := client.Get(p, "gcr.io")
	must(t, err)
	g.Fail("token", fakegoogle.Fault{Status: 500})
	r := run(t, env, "gcr.io", "docker-credential-gcrcred", "get")
	var got struct{ Secret string }
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &got) != nil || got.Secret != short.Secret {
		t.Fatalf("expiring cached token not served while the endpoint is down: code %d %s", r.Code, r.Stdout)
	}
	if !strings.Contains(r.Stderr, "using the cached one") {
		t.Fatalf("want a warning about the stale token, got %q", r.Stderr)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	g := newGoogle(t)
	dir := t.TempDir()
	sa, _, err := g.WriteServiceAccountKey(dir, "builder")
	must(t, err)
	malformed := filepath.Join(dir, "malformed.json")
	must(t, os.WriteFile(malformed, []byte(`{"type": "service_account", "private_key": `), 0o600))
	wrongType := filepath.Join(dir, "wrong-type.json")
	must(t, os.WriteFile(wrongType, []byte(`{"type": "gdch_service_account_v2"}`), 0o600))
	notJSONObject := filepath.Join(dir, "array.json")
	must(t, os.WriteFile(notJSONObject, []byte(`[1,2]`), 0o600))

	cases := []struct {
		name, stdin string
		args, env   []string
		want        string
	}{
		{"empty stdin", "", []string{"get"}, []string{"GCRCRED_CREDENTIALS=" + sa}, "no credentials server URL"},
		{"blank stdin", "  \n", []string{"get"}, []string{"GCRCRED_CREDENTIALS=" + sa}, "no credentials server URL"},
		{"unknown verb", "gcr.io", []string{"frobnicate"}, nil, "unknown action: frobnicate"},
		{"no verb", "", []string{}, nil, "Usage"},
		{"store garbage", "\x00{{{", []string{"store"}, nil, "invalid"},
		{"store without server", `{"Username":"_json_key","Secret":"x"}`, []string{"store"}, nil, "no credentials server URL"},
		{"missing credentials file", "gcr.io", []string{"get"}, []string{"GCRCRED_CREDENTIALS=" + filepath.Join(dir, "nope.json")}, "no such file"},
		{"credentials file is a directory", "gcr.io", []string{"get"}, []string{"GCRCRED_CREDENTIALS=" + dir}, "is a directory"},
		{"malformed credentials file", "gcr.io", []string{"get"}, []string{"GCRCRED_CREDENTIALS=" + malformed}, "not valid JSON"},
		{"unsupported credentials type", "gcr.io", []string{"get"}, []string{"GCRCRED_CREDENTIALS=" + wrongType}, "unsupported type"},
		{"credentials file not an object", "gcr.io", []string{"get"}, []string{"GOOGLE_APPLICATION_CREDENTIALS=" + notJSONObject}, "not valid JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, testbin.InEnv(t, c.env...), c.stdin, "docker-credential-gcrcred", c.args...)
			if r.Code == 0 {
				t.Fatalf("exit 0, stdout %q", r.Stdout)
			}
			if !strings.Contains(r.Stdout+r.Stderr, c.want) {
				t.Fatalf("want %q in the error, got stdout %q stderr %q", c.want, r.Stdout, r.Stderr)
			}
		})
	}
	// Garbage where a server URL belongs is just a host we do not serve.
	r := run(t, testbin.InEnv(t, "GCRCRED_CREDENTIALS="+sa), "\x01\x02 not a url", "docker-credential-gcrcred", "get")
	if r.Code != 1 || strings.TrimSpace(r.Stdout) != "credentials not found in native keychain" {
		t.Fatalf("garbage server URL: code %d stdout %q", r.Code, r.Stdout)
	}
}

package helper_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/gcrcred/gcrcred/test/fakegoogle"
	"github.com/gcrcred/gcrcred/test/testbin"
)

// TestNoSecretInLogsOrErrors drives every path that logs or fails, with
// GCRCRED_LOG=debug, and greps what the user would see for any secret the
// fake Google handed out or the credential files hold.
func TestNoSecretInLogsOrErrors(t *testing.T) {
	t.Parallel()
	g := newGoogle(t)
	dir := t.TempDir()
	sa, _, err := g.WriteServiceAccountKey(dir, "builder")
	must(t, err)
	user, _, err := g.WriteAuthorizedUser(dir, "alice")
	must(t, err)
	ext, _, err := g.WriteExternalAccount(dir, "ci")
	must(t, err)
	imp, _, err := g.WriteImpersonated(dir, "deployer")
	must(t, err)

	var secrets []string
	for _, f := range []string{sa, user, imp} {
		secrets = append(secrets, secretsIn(t, f)...)
	}
	subject, err := os.ReadFile(filepath.Join(dir, "ci-subject-token.txt"))
	must(t, err)
	secrets = append(secrets, strings.TrimSpace(string(subject)))

	var seen strings.Builder
	record := func(r result, protocolOut bool) {
		seen.WriteString(r.Stderr)
		if !protocolOut { // stdout of a failing get/store is the error text
			seen.WriteString(r.Stdout)
		}
	}
	for _, f := range []string{sa, user, ext, imp} {
		env := testbin.InEnv(t, "GCRCRED_CREDENTIALS="+f, "GCRCRED_LOG=debug", "GCRCRED_TIMEOUT=1s") // short back-offs
		ok := run(t, env, "gcr.io", "docker-credential-gcrcred", "get")                              // success: stdout holds the token by design
		record(ok, true)
		var c credentials.Credentials
		must(t, json.Unmarshal([]byte(ok.Stdout), &c))
		secrets = append(secrets, c.Secret)
		record(run(t, env, "gcr.io", "docker-credential-gcrcred", "get"), true) // warm
		record(run(t, env, "", "gcrcred", "doctor"), false)
		for _, fault := range []fakegoogle.Fault{{Status: 400}, {Status: 500}, {Garbage: true}} {
			for _, ep := range []string{"token", "sts", "iam"} {
				g.Fail(ep, fault)
			}
			fresh := testbin.Merge(env, "GCRCRED_CACHE_DIR="+t.TempDir())
			record(run(t, fresh, "gcr.io", "docker-credential-gcrcred", "get"), false)
			if fault.Status == 400 { // fails at once; the retried faults cost a second each
				record(run(t, fresh, "", "gcrcred", "doctor"), false)
				record(run(t, fresh, "", "gcrcred", "token"), false)
			}
		}
		for _, ep := range []string{"token", "sts", "iam"} {
			g.Fail(ep, fakegoogle.Fault{})
		}
	}
	// docker login with a key, a bad key, a bad user.
	key, _ := os.ReadFile(sa)
	env := testbin.InEnv(t, "GCRCRED_LOG=debug")
	for _, c := range []credentials.Credentials{
		{ServerURL: "gcr.io", Username: "_json_key", Secret: string(key)},
		{ServerURL: "gcr.io", Username: "_json_key", Secret: strings.Replace(string(key), "service_account", "nope", 1)},
		{ServerURL: "gcr.io", Username: "someone", Secret: string(key)},
		{ServerURL: "docker.io", Username: "_json_key", Secret: string(key)},
	} {
		b, _ := json.Marshal(c)
		record(run(t, env, string(b), "docker-credential-gcrcred", "store"), false)
	}
	record(run(t, env, "", "docker-credential-gcrcred", "list"), false)
	_ = client.Erase // the client is exercised elsewhere; here we need raw output

	out := seen.String()
	if len(out) < 200 {
		t.Fatalf("too little output to judge (%d bytes): the test is not looking at anything", len(out))
	}
	for _, s := range secrets {
		if len(s) >= 12 && strings.Contains(out, s) {
			t.Errorf("a secret (%d chars, starting %.6q) appears in logs or errors", len(s), s)
		}
	}
	for _, marker := range []string{"ya29.", "PRIVATE KEY", "1//fake-refresh", "GOCSPX-"} {
		if strings.Contains(out, marker) {
			t.Errorf("%q appears in logs or errors", marker)
		}
	}
}

// secretsIn lists the secret values of a credentials file, and each line of
// a private key's body.
func secretsIn(t *testing.T, file string) []string {
	b, err := os.ReadFile(file)
	must(t, err)
	var m map[string]any
	must(t, json.Unmarshal(b, &m))
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "private_key" || k == "refresh_token" || k == "client_secret") {
					for _, line := range strings.Split(s, "\n") {
						if len(line) > 20 && !strings.HasPrefix(line, "-----") {
							out = append(out, line)
						}
					}
					out = append(out, s)
				}
				walk(x)
			}
		}
	}
	walk(m)
	if len(out) == 0 {
		t.Fatalf("%s holds no secret to look for", file)
	}
	return out
}

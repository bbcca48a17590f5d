package helper_test

// The Docker front end in-process: helper.Serve and the helper's commands,
// called as main calls them, with settings parsed from an environment
// built from nothing (testbin.InEnv), through the docker-credential-helpers
// client's Program interface where Docker's side matters, against the fake
// Google on loopback. What only a process shows (exit status, the
// docker-credential- name, many processes sharing one cache) is in
// test/process.

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/gcrcred/gcrcred/helper"
	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/settings"
	"github.com/gcrcred/gcrcred/test/fakegoogle"
	"github.com/gcrcred/gcrcred/test/testbin"
)

func newGoogle(t *testing.T) *fakegoogle.Google { return testbin.Google(t) }

// googleWithKey is a fake Google and a service-account key file it knows.
func googleWithKey(t *testing.T) (g *fakegoogle.Google, keyFile, email string) {
	return testbin.GoogleWithKey(t, "builder")
}

// program is the docker-credential-helpers client's way of running a
// helper, run in-process with the settings env gives.
func program(t *testing.T, env []string) client.ProgramFunc {
	return func(args ...string) client.Program { return &inProcess{t: t, env: env, args: args} }
}

// inProcess is a client.Program that runs docker-credential-gcrcred's verb
// in this process.
type inProcess struct {
	t    *testing.T
	env  []string
	args []string
	in   []byte
}

func (p *inProcess) Input(in io.Reader) { p.in, _ = io.ReadAll(in) }

func (p *inProcess) Output() ([]byte, error) {
	r := run(p.t, p.env, string(p.in), "docker-credential-gcrcred", p.args...)
	if r.Code != 0 {
		return []byte(r.Stdout), fmt.Errorf("exit status %d", r.Code)
	}
	return []byte(r.Stdout), nil
}

type result = testbin.Result

// run runs what `name args...` runs, in-process, with env and stdin:
// docker-credential-gcrcred VERB, gcrcred get|store|erase|list, and the
// helper's commands (token, doctor, configure-docker).
func run(t *testing.T, env []string, stdin string, name string, args ...string) result {
	t.Helper()
	return testbin.InProcess(t, env, []byte(stdin), func(s settings.Settings, in io.Reader, stdout, stderr io.Writer) int {
		if name == "docker-credential-gcrcred" {
			return helper.Serve(args, s, in, stdout, stderr)
		}
		if len(args) == 1 && strings.Contains(" get store erase list ", " "+args[0]+" ") {
			return helper.Serve(args, s, in, stdout, stderr)
		}
		for _, cmd := range []*cli.Command{helper.TokenCommand(), helper.DoctorCommand(), helper.ConfigureDockerCommand()} {
			if len(args) > 0 && cmd.Name == args[0] {
				return cli.RunAlone(cmd, s, args[1:], in, stdout, stderr)
			}
		}
		t.Fatalf("the in-process runner does not run %s %v", name, args)
		return 0
	})
}

func TestGetEveryCredentialType(t *testing.T) {
	t.Parallel()
	g := newGoogle(t)
	dir := t.TempDir()
	sa, saEmail, err := g.WriteServiceAccountKey(dir, "builder")
	must(t, err)
	user, userID, err := g.WriteAuthorizedUser(dir, "alice")
	must(t, err)
	ext, extEmail, err := g.WriteExternalAccount(dir, "github-ci")
	must(t, err)
	imp, impEmail, err := g.WriteImpersonated(dir, "deployer")
	must(t, err)

	cases := []struct {
		name, subject string
		env           []string
	}{
		{"service_account", saEmail, []string{"GCRCRED_CREDENTIALS=" + sa}},
		{"authorized_user", userID, []string{"GOOGLE_APPLICATION_CREDENTIALS=" + user}},
		{"external_account", extEmail, []string{"GCRCRED_CREDENTIALS=" + ext}},
		{"impersonated_service_account", impEmail, []string{"GCRCRED_CREDENTIALS=" + imp}},
		{"gcloud ADC file", userID, []string{"CLOUDSDK_CONFIG=" + adcDir(t, user)}},
		{"metadata server", fakegoogle.MetadataSubject, []string{"GCE_METADATA_HOST=" + g.MetadataHost()}},
		{"gcloud CLI", "gcloud-cli", gcloudEnv(t, g)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := testbin.InEnv(t, c.env...)
			for _, host := range []string{"gcr.io", "https://us.gcr.io", "europe-west1-docker.pkg.dev", "https://docker.us-central1.rep.pkg.dev/v2/"} {
				creds, err := client.Get(program(t, env), host)
				if err != nil {
					t.Fatalf("get %s: %v", host, err)
				}
				if creds.Username != "oauth2accesstoken" || !g.Valid(creds.Secret) {
					t.Fatalf("get %s: username %q, token valid=%v", host, creds.Username, g.Valid(creds.Secret))
				}
				if c.subject != "gcloud-cli" {
					if got := g.TokenSubject(creds.Secret); got != c.subject {
						t.Fatalf("token minted for %q, want %q", got, c.subject)
					}
				}
			}
		})
	}
}

// adcDir lays out a gcloud config dir whose application default credentials
// are the given file.
func adcDir(t *testing.T, credFile string) string {
	d := t.TempDir()
	b, err := os.ReadFile(credFile)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(d, "application_default_credentials.json"), b, 0o600))
	return d
}

// gcloudEnv puts a fake `gcloud` on PATH whose config-helper prints a token
// the fake Google issued, as the real CLI prints its own.
func gcloudEnv(t *testing.T, g *fakegoogle.Google) []string {
	dir := t.TempDir()
	user, _, err := g.WriteAuthorizedUser(dir, "gcloud-user")
	must(t, err)
	// Get a real token for the script to hand out, through the binary itself.
	r := run(t, testbin.InEnv(t, "GCRCRED_CREDENTIALS="+user), "", "gcrcred", "token")
	if r.Code != 0 {
		t.Fatalf("token: %s", r.Stderr)
	}
	tok := strings.TrimSpace(r.Stdout)
	exp := time.Now().Add(50 * time.Minute).UTC().Format(time.RFC3339)
	script := "#!/bin/sh\n[ \"$1 $2 $3\" = 'config config-helper --format=json' ] || exit 3\n" +
		`echo '{"configuration":{"active_configuration":"default","properties":{"core":{"account":"dev@example.com"}}},"credential":{"access_token":"` + tok + `","token_expiry":"` + exp + `"}}'` + "\n"
	// gcloud keeps the active account in its configuration files.
	conf := filepath.Join(dir, "gcloud-config")
	must(t, os.MkdirAll(filepath.Join(conf, "configurations"), 0o700))
	must(t, os.WriteFile(filepath.Join(conf, "active_config"), []byte("default"), 0o600))
	must(t, os.WriteFile(filepath.Join(conf, "configurations", "config_default"), []byte("[core]\naccount = dev@example.com\n"), 0o600))
	bin := filepath.Join(dir, "bin")
	must(t, os.MkdirAll(bin, 0o755))
	must(t, testbin.WriteProgram(filepath.Join(bin, "gcloud"), []byte(script)))
	return []string{"PATH=" + bin, "CLOUDSDK_CONFIG=" + conf}
}

func TestNonGoogleHostsAreNotFound(t *testing.T) {
	t.Parallel()
	g, sa, _ := googleWithKey(t)
	env := testbin.InEnv(t, "GCRCRED_CREDENTIALS="+sa)
	for _, host := range []string{"https://index.docker.io/v1/", "docker.io", "ghcr.io", "quay.io", "gcr.io.evil.example", "localhost:5000"} {
		_, err := client.Get(program(t, env), host)
		if !credentials.IsErrCredentialsNotFound(err) {
			t.Errorf("get %s: want not-found, got %v", host, err)
		}
	}
	if n := g.Count("token"); n != 0 {
		t.Errorf("non-Google hosts caused %d token requests", n)
	}
}

func TestNoCredentialsIsNotFoundWithHint(t *testing.T) {
	t.Parallel()
	env := testbin.InEnv(t) // nothing: no files, closed metadata port, no gcloud on PATH
	r := run(t, env, "gcr.io\n", "docker-credential-gcrcred", "get")
	if r.Code != 1 || strings.TrimSpace(r.Stdout) != "credentials not found in native keychain" {
		t.Fatalf("want protocol not-found, got code %d stdout %q", r.Code, r.Stdout)
	}
	if !strings.Contains(r.Stderr, "GCRCRED_CREDENTIALS") || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
		t.Fatalf("want a one-line hint on stderr, got %q", r.Stderr)
	}
	if r.Took > 5*time.Second {
		t.Fatalf("no-credentials path took %s: it must not stall", r.Took)
	}
}

func TestJSONKeyMode(t *testing.T) {
	t.Parallel()
	g := newGoogle(t)
	dir := t.TempDir()
	sa, _, err := g.WriteServiceAccountKey(dir, "builder")
	must(t, err)
	key, err := os.ReadFile(sa)
	must(t, err)
	creds, err := client.Get(program(t, testbin.InEnv(t, "GCRCRED_CREDENTIALS="+sa, "GCRCRED_AUTH=json-key")), "gcr.io")
	must(t, err)
	if creds.Username != "_json_key" || creds.Secret != string(key) {
		t.Fatalf("json-key: got username %q and a secret of %d bytes", creds.Username, len(creds.Secret))
	}
	if !g.KnownServiceAccountKey([]byte(creds.Secret)) {
		t.Fatal("the returned key is not one the fake Google knows")
	}
	user, _, err := g.WriteAuthorizedUser(dir, "alice")
	must(t, err)
	_, err = client.Get(program(t, testbin.InEnv(t, "GCRCRED_CREDENTIALS="+user, "GCRCRED_AUTH=json-key")), "gcr.io")
	if err == nil || !strings.Contains(err.Error(), "service-account key") {
		t.Fatalf("json-key with user credentials: want a clear error, got %v", err)
	}
}

func TestStoreEraseList(t *testing.T) {
	t.Parallel()
	g := newGoogle(t)
	dir := t.TempDir()
	defaultKey, defaultEmail, err := g.WriteServiceAccountKey(dir, "default-sa")
	must(t, err)
	loginKey, loginEmail, err := g.WriteServiceAccountKey(dir, "login-sa")
	must(t, err)
	keyJSON, err := os.ReadFile(loginKey)
	must(t, err)
	env := testbin.InEnv(t, "GCRCRED_CREDENTIALS="+defaultKey)
	home := envValue(env, "HOME")
	p := program(t, env)

	// docker login -u _json_key --password-stdin eu.gcr.io
	must(t, client.Store(p, &credentials.Credentials{ServerURL: "eu.gcr.io", Username: "_json_key", Secret: string(keyJSON)}))
	stored := filepath.Join(home, ".config", "gcrcred", "logins", "eu.gcr.io.json")
	fi, err := os.Stat(stored)
	must(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("stored key has mode %v, want 0600", fi.Mode().Perm())
	}
	if d, _ := os.Stat(filepath.Dir(stored)); d.Mode().Perm() != 0o700 {
		t.Fatalf("logins dir has mode %v, want 0700", d.Mode().Perm())
	}
	// From now on eu.gcr.io uses the login's key; gcr.io keeps the default.
	eu, err := client.Get(p, "https://eu.gcr.io")
	must(t, err)
	if g.TokenSubject(eu.Secret) != loginEmail {
		t.Fatalf("eu.gcr.io token for %q, want the logged-in %q", g.TokenSubject(eu.Secret), loginEmail)
	}
	other, err := client.Get(p, "gcr.io")
	must(t, err)
	if g.TokenSubject(other.Secret) != defaultEmail {
		t.Fatalf("gcr.io token for %q, want %q", g.TokenSubject(other.Secret), defaultEmail)
	}

	// An access-token login is accepted and not kept.
	must(t, client.Store(p, &credentials.Credentials{ServerURL: "us.gcr.io", Username: "oauth2accesstoken", Secret: "ya29.pasted"}))
	if _, err := os.Stat(filepath.Join(home, ".config", "gcrcred", "logins", "us.gcr.io.json")); err == nil {
		t.Fatal("an oauth2accesstoken login was stored")
	}
	// Anything else is refused clearly.
	err = client.Store(p, &credentials.Credentials{ServerURL: "gcr.io", Username: "bob", Secret: "hunter2"})
	if err == nil || !strings.Contains(err.Error(), "_json_key") {
		t.Fatalf("store bob: want a clear error, got %v", err)
	}
	err = client.Store(p, &credentials.Credentials{ServerURL: "gcr.io", Username: "_json_key", Secret: "{not a key"})
	if err == nil || strings.Contains(err.Error(), "not a key") {
		t.Fatalf("store garbage key: want an error that does not echo the secret, got %v", err)
	}

	list, err := client.List(p)
	must(t, err)
	if list["gcr.io"] != "oauth2accesstoken" || list["eu.gcr.io"] != "_json_key" {
		t.Fatalf("list = %v", list)
	}

	must(t, client.Erase(p, "eu.gcr.io"))
	if _, err := os.Stat(stored); err == nil {
		t.Fatal("erase left the stored key")
	}
	eu, err = client.Get(p, "eu.gcr.io")
	must(t, err)
	if g.TokenSubject(eu.Secret) != defaultEmail {
		t.Fatalf("after erase eu.gcr.io token for %q, want %q", g.TokenSubject(eu.Secret), defaultEmail)
	}
	must(t, client.Erase(p, "eu.gcr.io")) // erasing nothing is fine (docker logout twice)
}

func TestCorruptCacheRecovers(t *testing.T) {
	t.Parallel()
	g, sa, _ := googleWithKey(t)
	env := testbin.InEnv(t, "GCRCRED_CREDENTIALS="+sa)
	p := program(t, env)
	_, err := client.Get(p, "gcr.io")
	must(t, err)
	files, _ := filepath.Glob(filepath.Join(envValue(env, "GCRCRED_CACHE_DIR"), "*.json"))
	for _, junk := range []string{"{\"access_token\": tru", "", "\x00\x01\x02", `{"version":1,"key":"someone-else","access_token":"ya29.foreign","expiry":"2999-01-01T00:00:00Z"}`} {
		for _, f := range files {
			must(t, os.WriteFile(f, []byte(junk), 0o600))
		}
		creds, err := client.Get(p, "gcr.io")
		if err != nil || !g.Valid(creds.Secret) {
			t.Fatalf("with cache %q: err %v, valid %v", junk, err, creds != nil && g.Valid(creds.Secret))
		}
	}
	if c := g.Count("token"); c != 5 {
		t.Fatalf("token requests = %d, want 5 (one per corrupted cache)", c)
	}
}

func TestCredentialsSharingACacheDirStayApart(t *testing.T) {
	t.Parallel()
	g := newGoogle(t)
	dir := t.TempDir()
	a, aEmail, err := g.WriteServiceAccountKey(dir, "team-a")
	must(t, err)
	b, bEmail, err := g.WriteServiceAccountKey(dir, "team-b")
	must(t, err)
	base := testbin.InEnv(t)
	for i := 0; i < 3; i++ {
		for _, c := range []struct{ file, email string }{{a, aEmail}, {b, bEmail}} {
			creds, err := client.Get(program(t, testbin.Merge(base, "GCRCRED_CREDENTIALS="+c.file)), "gcr.io")
			must(t, err)
			if got := g.TokenSubject(creds.Secret); got != c.email {
				t.Fatalf("round %d: credentials of %s got a token for %s", i, c.email, got)
			}
		}
	}
	// Scopes are part of the identity too.
	creds, err := client.Get(program(t, testbin.Merge(base, "GCRCRED_CREDENTIALS="+a, "GCRCRED_SCOPES=https://www.googleapis.com/auth/devstorage.read_only")), "gcr.io")
	must(t, err)
	if s := g.TokenScopes(creds.Secret); len(s) != 1 || !strings.HasSuffix(s[0], "devstorage.read_only") {
		t.Fatalf("GCRCRED_SCOPES ignored or cached token reused: scopes %v", s)
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

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestDoctorExplainsAndNeverPrintsTheToken(t *testing.T) {
	t.Parallel()
	g, sa, email := googleWithKey(t)
	env := testbin.InEnv(t, "GCRCRED_CREDENTIALS="+sa)
	ok := run(t, env, "", "gcrcred", "doctor")
	if ok.Code != 0 {
		t.Fatalf("doctor with a good key: exit %d\n%s", ok.Code, ok.Stdout)
	}
	for _, want := range []string{"GCRCRED_CREDENTIALS (" + sa + ")", "service_account", email, "token:       ok", "no credHelpers for gcrcred", "fix:         run `gcrcred configure-docker`"} {
		if !strings.Contains(ok.Stdout, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, ok.Stdout)
		}
	}
	tok := strings.TrimSpace(run(t, env, "", "gcrcred", "token").Stdout)
	if !g.Valid(tok) || strings.Contains(ok.Stdout+ok.Stderr, tok) {
		t.Fatalf("token valid=%v; doctor must never print it", g.Valid(tok))
	}
	// Second run: the cache is reported.
	if again := run(t, env, "", "gcrcred", "doctor"); !strings.Contains(again.Stdout, "token valid for") {
		t.Errorf("doctor does not report the cached token:\n%s", again.Stdout)
	}
	g.Fail("token", fakegoogle.Fault{Status: 401})
	bad := run(t, testbin.Merge(env, "GCRCRED_CACHE_DIR="+t.TempDir()), "", "gcrcred", "doctor")
	if bad.Code == 0 || !strings.Contains(bad.Stdout, "FAILED") || !strings.Contains(bad.Stdout, "create a new key") {
		t.Fatalf("doctor with a refused key: exit %d\n%s", bad.Code, bad.Stdout)
	}
	none := run(t, testbin.InEnv(t), "", "gcrcred", "doctor")
	if none.Code == 0 || !strings.Contains(none.Stdout, "gcloud auth application-default login") {
		t.Fatalf("doctor with no credentials: exit %d\n%s", none.Code, none.Stdout)
	}
}

// TestWarmGetOnAGoogleVMAsksNothing: with the metadata server as the
// source, a warm get answers from the cache without probing the server.
func TestWarmGetOnAGoogleVMAsksNothing(t *testing.T) {
	t.Parallel()
	g := newGoogle(t)
	env := testbin.InEnv(t, "GCE_METADATA_HOST="+g.MetadataHost())
	first, err := client.Get(program(t, env), "gcr.io")
	if err != nil || !g.Valid(first.Secret) {
		t.Fatalf("cold get: %v", err)
	}
	if g.Count("metadata-other") == 0 || g.Count("metadata") != 1 {
		t.Fatalf("cold get: %d probe(s), %d token request(s); want a probe and one token", g.Count("metadata-other"), g.Count("metadata"))
	}
	g.ResetCounts()
	second, err := client.Get(program(t, env), "gcr.io")
	if err != nil || second.Secret != first.Secret {
		t.Fatalf("warm get: %v, same token %v", err, second.Secret == first.Secret)
	}
	if n := g.Count("metadata-other") + g.Count("metadata"); n != 0 {
		t.Errorf("warm get made %d metadata request(s), want none", n)
	}
}

// TestDevelopersVariablesDoNotReachTheFrontEnd: what the developer running
// the tests has exported (other scopes, another key, json-key mode) never
// reaches the front end: its settings come from the test's environment
// alone.
func TestDevelopersVariablesDoNotReachTheFrontEnd(t *testing.T) {
	g, sa, email := googleWithKey(t)
	other, _, err := g.WriteServiceAccountKey(t.TempDir(), "developers-own")
	must(t, err)
	t.Setenv("GCRCRED_SCOPES", "https://www.googleapis.com/auth/devstorage.read_only")
	t.Setenv("GCRCRED_CREDENTIALS", other)
	t.Setenv("GCRCRED_AUTH", "json-key")
	creds, err := client.Get(program(t, testbin.InEnv(t, "GCRCRED_CREDENTIALS="+sa)), "gcr.io")
	must(t, err)
	if creds.Username != "oauth2accesstoken" || g.TokenSubject(creds.Secret) != email {
		t.Fatalf("got %s for %s: the developer's variables reached the helper", creds.Username, g.TokenSubject(creds.Secret))
	}
	if scopes := g.TokenScopes(creds.Secret); len(scopes) != 1 || scopes[0] != fakegoogle.CloudPlatformScope {
		t.Fatalf("token scopes %v: the developer's GCRCRED_SCOPES reached the helper", scopes)
	}
}

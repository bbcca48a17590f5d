package podidentity

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/internal/endpoint"
	"github.com/gcrcred/gcrcred/internal/limits"
	"github.com/gcrcred/gcrcred/test/fakegoogle"
)

const issuerURL = "https://kubernetes.default.svc.cluster.local"

// TestMain turns on the test switch: the fake Google is on 127.0.0.1.
func TestMain(m *testing.M) {
	endpoint.SetTestLoopback(true)
	os.Exit(m.Run())
}

// world is a fake Google whose pool provider trusts one test issuer, with
// the credential configuration for it.
type world struct {
	g        *fakegoogle.Google
	iss      *fakegoogle.TokenIssuer
	audience string
	cfg      *Config
}

func newWorld(t *testing.T) *world {
	t.Helper()
	g, err := fakegoogle.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	iss, err := fakegoogle.NewTokenIssuer(issuerURL)
	if err != nil {
		t.Fatal(err)
	}
	aud, err := g.AddOIDCProvider(fakegoogle.OIDCProvider{Pool: "k8s", Provider: "cluster", Issuer: iss.URL, JWKS: iss.JWKS()})
	if err != nil {
		t.Fatal(err)
	}
	path, err := g.WriteWorkloadIdentityConfig(t.TempDir(), "wi", aud, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ReadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	return &world{g: g, iss: iss, audience: aud, cfg: cfg}
}

// request is a Request for ns/name with a fresh token of w's issuer, in
// ModeAll, annotated with the Google service account annotation if any.
func (w *world) request(t *testing.T, c fakegoogle.ServiceAccountClaims, annotation, cacheDir string) *Request {
	t.Helper()
	if c.Audiences == nil {
		c.Audiences = []string{w.audience}
	}
	tok, err := w.iss.ServiceAccountToken(c)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := ParseToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	var annotations map[string]string
	if annotation != "" {
		annotations = map[string]string{AnnotationKey: annotation}
	}
	// ModeAll: these tests are of every pod pulling as itself; the
	// annotated mode's choices are TestPullModes'.
	return &Request{Config: w.cfg, Token: tok, Claims: claims, Annotations: annotations, Mode: ModeAll,
		Scopes: []string{fakegoogle.CloudPlatformScope}, CacheDir: cacheDir, Limits: limits.Limits{Timeout: 2 * time.Second}}
}

func TestParseConfig(t *testing.T) {
	w := newWorld(t)
	if w.cfg.Pool != "k8s" || w.cfg.Provider != "cluster" || w.cfg.Project != fakegoogle.ProjectNumber || w.cfg.SubjectTokenType != TokenTypeJWT {
		t.Fatalf("parsed %+v", w.cfg)
	}
	if got, want := w.cfg.Principal("system:serviceaccount:a:b"), fakegoogle.KubernetesPrincipal("k8s", "a", "b"); got != want {
		t.Fatalf("principal %q, want %q", got, want)
	}
	good := map[string]any{
		"type": "external_account", "audience": w.audience, "subject_token_type": TokenTypeJWT,
		"token_url": "https://sts.googleapis.com/v1/token", "credential_source": map[string]any{"file": "/x"},
	}
	with := func(k string, v any) []byte {
		m := map[string]any{}
		for a, b := range good {
			m[a] = b
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return b
	}
	if _, err := ParseConfig(with("x", nil), "f.json"); err != nil {
		t.Fatalf("good config refused: %v", err)
	}
	c, err := ParseConfig(with("token_url", nil), "f.json")
	if err != nil || c.TokenURL != "https://sts.googleapis.com/v1/token" {
		t.Fatalf("no token_url: %v %+v", err, c)
	}
	for _, bad := range []struct {
		name string
		data []byte
		want string
	}{
		{"not JSON", []byte("{"), "not valid JSON"},
		{"a key", with("type", "service_account"), `type is "service_account"`},
		{"workforce pool", with("audience", "//iam.googleapis.com/locations/global/workforcePools/p/providers/x"), "workforce pool"},
		{"not a provider", with("audience", "gcrcred"), "not a workload identity pool provider"},
		{"SAML", with("subject_token_type", "urn:ietf:params:oauth:token-type:saml2"), "must be urn:ietf:params:oauth:token-type:jwt"},
		{"plain http", with("token_url", "http://sts.googleapis.com/v1/token"), "token_url: host sts.googleapis.com is refused: scheme http is not https"},
		{"relative", with("token_url", "/v1/token"), "not an absolute URL"},
		{"userinfo", with("token_url", "https://u:p@sts.googleapis.com/v1/token"), "user name or password"},
		{"foreign STS", with("token_url", "https://sts.evil.example/v1/token"), "token_url: host sts.evil.example is refused: it is not Google's STS"},
		{"look-alike STS", with("token_url", "https://sts.googleapis.com.evil.example/v1/token"), "is not Google's STS"},
		{"another loopback", with("token_url", "http://127.0.0.2:8080/v1/token"), "host 127.0.0.2:8080 is refused"},
		{"localhost", with("token_url", "http://localhost:8080/v1/token"), "host localhost:8080 is refused"},
		{"foreign IAM", with("service_account_impersonation_url", "https://iam.evil.example/v1/projects/-/serviceAccounts/d@p.iam.gserviceaccount.com:generateAccessToken"),
			"service_account_impersonation_url: host iam.evil.example is refused: it is not Google's IAM Credentials"},
		{"STS as IAM", with("service_account_impersonation_url", "https://sts.googleapis.com/v1/projects/-/serviceAccounts/d@p.iam.gserviceaccount.com:generateAccessToken"), "is not Google's IAM Credentials"},
		{"foreign token info", with("token_info_url", "https://evil.example/v1/introspect"), "token_info_url: host evil.example is refused"},
		{"universe not a domain", with("universe_domain", "127.0.0.2"), `universe_domain "127.0.0.2" is refused`},
		{"impersonation URL", with("service_account_impersonation_url", "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/x"), "does not end in"},
		{"lifetime", with("service_account_impersonation", map[string]int{"token_lifetime_seconds": 60}), "600 to 43200"},
	} {
		_, err := ParseConfig(bad.data, "f.json")
		if err == nil || !strings.Contains(err.Error(), bad.want) || !strings.Contains(err.Error(), "f.json") {
			t.Errorf("%s: %v, want an error naming f.json and saying %q", bad.name, err, bad.want)
		}
	}
	if _, err := ReadConfig(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
}

func TestGenerateAccessTokenURL(t *testing.T) {
	const aud = "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k"
	for _, c := range []struct{ tokenURL, impersonation, universe, want string }{
		{"https://sts.googleapis.com/v1/token", "", "", "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a@p.iam.gserviceaccount.com:generateAccessToken"},
		{"", "", "", "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a@p.iam.gserviceaccount.com:generateAccessToken"},
		{"https://sts-private.p.googleapis.com/v1/token", "", "", "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a@p.iam.gserviceaccount.com:generateAccessToken"},
		{"", "", "googleapis.com", "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a@p.iam.gserviceaccount.com:generateAccessToken"},
		{"https://sts.googleapis.com/v1/token", "https://iamcredentials-private.p.googleapis.com/v1/projects/-/serviceAccounts/d@p.iam.gserviceaccount.com:generateAccessToken", "",
			"https://iamcredentials-private.p.googleapis.com/v1/projects/-/serviceAccounts/a@p.iam.gserviceaccount.com:generateAccessToken"},
		{"https://sts.europe-west3.rep.googleapis.com/v1/token", "", "", "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a@p.iam.gserviceaccount.com:generateAccessToken"},
		{"http://127.0.0.1:8080/v1/token", "", "", "http://127.0.0.1:8080/v1/projects/-/serviceAccounts/a@p.iam.gserviceaccount.com:generateAccessToken"},
	} {
		m := map[string]any{"type": "external_account", "audience": aud, "subject_token_type": TokenTypeJWT}
		if c.tokenURL != "" {
			m["token_url"] = c.tokenURL
		}
		if c.impersonation != "" {
			m["service_account_impersonation_url"] = c.impersonation
		}
		if c.universe != "" {
			m["universe_domain"] = c.universe
		}
		b, _ := json.Marshal(m)
		cfg, err := ParseConfig(b, "f.json")
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.GenerateAccessTokenURL("a@p.iam.gserviceaccount.com"); got != c.want {
			t.Errorf("token_url %q, impersonation %q: %q, want %q", c.tokenURL, c.impersonation, got, c.want)
		}
	}
}

func TestParseToken(t *testing.T) {
	w := newWorld(t)
	uid := fakegoogle.NewUID()
	tok, _ := w.iss.ServiceAccountToken(fakegoogle.ServiceAccountClaims{Namespace: "team-a", Name: "puller", UID: uid, Audiences: []string{"x", "y"}})
	c, err := ParseToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.String() != "team-a/puller" || c.UID != uid || c.Issuer != issuerURL || strings.Join(c.Audiences, ",") != "x,y" || time.Until(c.Expiry) < 59*time.Minute {
		t.Fatalf("claims %+v", c)
	}
	sign := func(claims map[string]any) string {
		s, err := w.iss.Sign(claims)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, bad := range []struct{ name, token, want string }{
		{"opaque", "opaque-secret-value", "not a JWT"},
		{"bad base64", "a.!!!.c", "not base64url"},
		{"user sub", sign(map[string]any{"sub": "alice"}), "system:serviceaccount:NAMESPACE:NAME"},
		{"no name", sign(map[string]any{"sub": "system:serviceaccount:ns:"}), "system:serviceaccount:NAMESPACE:NAME"},
		{"disagreeing claims", sign(map[string]any{"sub": "system:serviceaccount:a:b", "kubernetes.io": map[string]any{"namespace": "kube-system"}}), "names another service account"},
		{"aud object", sign(map[string]any{"sub": "system:serviceaccount:a:b", "aud": map[string]string{}}), "aud"},
	} {
		_, err := ParseToken(bad.token)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: %v, want %q", bad.name, err, bad.want)
		}
		if err != nil && strings.Contains(err.Error(), bad.token) {
			t.Errorf("%s: the error quotes the token", bad.name)
		}
	}
	if c, err := ParseToken(sign(map[string]any{"sub": "system:serviceaccount:a:b", "aud": "one"})); err != nil || c.UID != "" || c.Audiences[0] != "one" {
		t.Errorf("token without kubernetes.io: %+v %v", c, err)
	}
}

// TestTokenPerServiceAccount: each service account gets its own identity's
// token, cached per account (a new UID or annotation is a new account),
// and no account is ever served another's token.
func TestTokenPerServiceAccount(t *testing.T) {
	w := newWorld(t)
	cache := t.TempDir()
	gsaA, gsaB := w.g.AddServiceAccount("team-a"), w.g.AddServiceAccount("team-b")
	w.g.GrantWorkloadIdentityUser(gsaA, fakegoogle.KubernetesPrincipal("k8s", "a", "puller"))
	w.g.GrantWorkloadIdentityUser(gsaB, fakegoogle.KubernetesPrincipal("k8s", "b", "puller"))
	uidA, uidB := fakegoogle.NewUID(), fakegoogle.NewUID()
	ctx := context.Background()
	mint := func(r *Request) string {
		t.Helper()
		tok, err := Token(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}
	a := mint(w.request(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller", UID: uidA}, gsaA, cache))
	b := mint(w.request(t, fakegoogle.ServiceAccountClaims{Namespace: "b", Name: "puller", UID: uidB}, gsaB, cache))
	plain := mint(w.request(t, fakegoogle.ServiceAccountClaims{Namespace: "c", Name: "plain", UID: fakegoogle.NewUID()}, "", cache))
	if w.g.TokenSubject(a) != gsaA || w.g.TokenSubject(b) != gsaB {
		t.Fatalf("a pulls as %q, b as %q", w.g.TokenSubject(a), w.g.TokenSubject(b))
	}
	if got := w.g.TokenSubject(plain); got != fakegoogle.KubernetesPrincipal("k8s", "c", "plain") {
		t.Fatalf("without an annotation: %q, want the principal", got)
	}
	if w.g.Count("sts") != 3 || w.g.Count("iam") != 2 {
		t.Fatalf("sts %d, iam %d; want 3 and 2", w.g.Count("sts"), w.g.Count("iam"))
	}

	// Another pod of account a, with a new token: the cached token.
	if again := mint(w.request(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller", UID: uidA, PodName: "p2"}, gsaA, cache)); again != a {
		t.Fatal("the same service account did not get its cached token")
	}
	// Account a deleted and created again (a new UID): a new token.
	if fresh := mint(w.request(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller", UID: fakegoogle.NewUID()}, gsaA, cache)); fresh == a {
		t.Fatal("a recreated service account got the old account's cached token")
	}
	// Account a's annotation removed: its principal's token, not gsaA's.
	if p := mint(w.request(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller", UID: uidA}, "", cache)); w.g.TokenSubject(p) != fakegoogle.KubernetesPrincipal("k8s", "a", "puller") {
		t.Fatalf("without the annotation a pulls as %q", w.g.TokenSubject(p))
	}
	if w.g.Count("sts") != 5 {
		t.Fatalf("sts %d, want 5", w.g.Count("sts"))
	}
}

// TestTokenErrors: every refusal names the service account, says what to
// do, and never carries the token.
func TestTokenErrors(t *testing.T) {
	w := newWorld(t)
	gsaA := w.g.AddServiceAccount("team-a")
	w.g.GrantWorkloadIdentityUser(gsaA, fakegoogle.KubernetesPrincipal("k8s", "a", "puller"))
	other, _ := fakegoogle.NewTokenIssuer(issuerURL)
	forged := w.request(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller"}, "", t.TempDir())
	forged.Token, _ = other.ServiceAccountToken(fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller", Audiences: []string{w.audience}})

	cases := []struct {
		name  string
		r     *Request
		fault string
		want  []string
	}{
		{"bad signature", forged, "", []string{"service account a/puller", "refused its token", "signature", "setup-help"}},
		{"wrong audience", w.request(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller", Audiences: []string{"gcrcred"}}, "", t.TempDir()), "",
			[]string{"service account a/puller", "audience", "accepts audience gcrcred"}},
		{"expired", w.request(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller", IssuedAt: time.Now().Add(-2 * time.Hour)}, "", t.TempDir()), "",
			[]string{"service account a/puller", "expired at", "clock"}},
		{"not granted", w.request(t, fakegoogle.ServiceAccountClaims{Namespace: "b", Name: "puller"}, gsaA, t.TempDir()), "",
			[]string{"service account b/puller", "refused to let principal://", "system:serviceaccount:b:puller impersonate " + gsaA, "roles/iam.workloadIdentityUser"}},
		{"no such account", w.request(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller"}, "nobody@fake-project.iam.gserviceaccount.com", t.TempDir()), "",
			[]string{"service account a/puller", "does not know the Google service account nobody@"}},
		{"bad annotation", w.request(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller"}, "x/../../y", t.TempDir()), "",
			[]string{"service account a/puller", "iam.gke.io/gcp-service-account", "not a Google service account e-mail"}},
		{"STS failing", w.request(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller"}, "", t.TempDir()), "sts",
			[]string{"service account a/puller", "is failing", "after 3 attempt(s)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.fault != "" {
				w.g.Fail(c.fault, fakegoogle.Fault{Status: 503})
				defer w.g.Fail(c.fault, fakegoogle.Fault{})
			}
			_, err := Token(context.Background(), c.r)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			t.Log(msg)
			for _, want := range c.want {
				if !strings.Contains(msg, want) {
					t.Errorf("error lacks %q:\n%s", want, msg)
				}
			}
			for _, part := range strings.Split(c.r.Token, ".") {
				if strings.Contains(msg, part) {
					t.Errorf("error carries part of the token:\n%s", msg)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error has more than one line:\n%s", msg)
			}
		})
	}
}

func TestTokenDefaultServiceAccountFromConfig(t *testing.T) {
	w := newWorld(t)
	def := w.g.AddServiceAccount("default-puller")
	w.g.GrantWorkloadIdentityUser(def, fakegoogle.KubernetesPrincipal("k8s", "a", "puller"))
	path, err := w.g.WriteWorkloadIdentityConfig(t.TempDir(), "wi-default", w.audience, def)
	if err != nil {
		t.Fatal(err)
	}
	if w.cfg, err = ReadConfig(path); err != nil {
		t.Fatal(err)
	}
	tok, err := Token(context.Background(), w.request(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller"}, "", t.TempDir()))
	if err != nil || w.g.TokenSubject(tok.AccessToken) != def {
		t.Fatalf("default account: %v, subject %q", err, w.g.TokenSubject(tok.AccessToken))
	}
	_, err = Token(context.Background(), w.request(t, fakegoogle.ServiceAccountClaims{Namespace: "b", Name: "puller"}, "", t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "the default of "+path) {
		t.Fatalf("ungranted default account: %v", err)
	}
}

func TestReadConfigBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(path, make([]byte, MaxConfigBytes+10), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadConfig(path); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("huge file: %v", err)
	}
}

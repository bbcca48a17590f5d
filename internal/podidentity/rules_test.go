package podidentity

// Google's rules that gcrcred checks before the call, the modes that let a
// cluster adopt per-pod identity one service account at a time, and the
// bounds on how long a pod's token is used.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/internal/cache"
	"github.com/gcrcred/gcrcred/test/fakegoogle"
)

// TestPullModes: in annotated mode (the default) a service account
// without annotations pulls with the node's credentials, one opted in
// pulls as its principal, one annotated with a Google service account as
// that account; the configuration's default account counts only in all
// mode; a malformed opt-in is refused, naming the account.
func TestPullModes(t *testing.T) {
	w := newWorld(t)
	def := w.g.AddServiceAccount("default-puller")
	path, err := w.g.WriteWorkloadIdentityConfig(t.TempDir(), "wi-default", w.audience, def)
	if err != nil {
		t.Fatal(err)
	}
	withDefault, err := ReadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	const gsa = "team-a@fake-project.iam.gserviceaccount.com"
	for _, c := range []struct {
		name        string
		mode        string
		cfg         *Config
		annotations map[string]string
		want        Pull
		err         string
	}{
		{"annotated, none", "", w.cfg, nil, Pull{Node: true}, ""},
		{"annotated, opted out", ModeAnnotated, w.cfg, map[string]string{EnableAnnotationKey: "false"}, Pull{Node: true}, ""},
		{"annotated, opted in", ModeAnnotated, w.cfg, map[string]string{EnableAnnotationKey: "true"}, Pull{}, ""},
		{"annotated, Google account", "", w.cfg, map[string]string{AnnotationKey: gsa}, Pull{Email: gsa}, ""},
		{"annotated, both", "", w.cfg, map[string]string{AnnotationKey: gsa, EnableAnnotationKey: "true"}, Pull{Email: gsa}, ""},
		{"annotated, default in file", "", withDefault, nil, Pull{Node: true}, ""},
		{"annotated, opted in, default in file", "", withDefault, map[string]string{EnableAnnotationKey: "true"}, Pull{}, ""},
		{"annotated, yes", "", w.cfg, map[string]string{EnableAnnotationKey: "yes"}, Pull{}, `iam.gke.io/enable-wi-image-pull annotation is "yes"`},
		{"all, none", ModeAll, w.cfg, nil, Pull{}, ""},
		{"all, default in file", ModeAll, withDefault, nil, Pull{Email: def}, ""},
		{"all, Google account", ModeAll, withDefault, map[string]string{AnnotationKey: gsa}, Pull{Email: gsa}, ""},
		{"bad mode", "some", w.cfg, nil, Pull{}, `mode "some" is neither annotated nor all`},
		{"bad Google account", "", w.cfg, map[string]string{AnnotationKey: "x@example.com"}, Pull{}, "not a Google service account e-mail"},
	} {
		r := w.request(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller"}, "", "")
		r.Config, r.Mode, r.Annotations = c.cfg, c.mode, c.annotations
		got, err := r.Pull()
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err == "" && (got.Node != c.want.Node || got.Email != c.want.Email):
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}

	// Token refuses a request whose pod pulls with the node's credentials
	// (the provider answers those), asking Google nothing.
	r := w.request(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller"}, "", t.TempDir())
	r.Mode = ModeAnnotated
	if _, err := Token(context.Background(), r); err == nil || !strings.Contains(err.Error(), "node's credentials") || w.g.Count("sts") != 0 {
		t.Fatalf("an unannotated account in annotated mode: %v (sts %d)", err, w.g.Count("sts"))
	}
	r.Annotations = map[string]string{EnableAnnotationKey: "true"}
	tok, err := Token(context.Background(), r)
	if err != nil || w.g.TokenSubject(tok.AccessToken) != fakegoogle.KubernetesPrincipal("k8s", "a", "puller") {
		t.Fatalf("opted in: %v, a token for %q", err, w.g.TokenSubject(tok.AccessToken))
	}
}

// worldWithMapping is a world whose pool provider maps google.subject with
// expr (gcrcred is told of it per request, in Request.Mapping).
func worldWithMapping(t *testing.T, expr string) *world {
	t.Helper()
	w := newWorld(t)
	aud, err := w.g.AddOIDCProvider(fakegoogle.OIDCProvider{Pool: "k8s", Provider: "mapped", Issuer: w.iss.URL, JWKS: w.iss.JWKS(),
		AttributeMapping: map[string]string{"google.subject": expr}})
	if err != nil {
		t.Fatal(err)
	}
	path, err := w.g.WriteWorkloadIdentityConfig(t.TempDir(), "wi-mapped", aud, "")
	if err != nil {
		t.Fatal(err)
	}
	if w.cfg, err = ReadConfig(path); err != nil {
		t.Fatal(err)
	}
	w.audience = aud
	return w
}

// TestSubjectOver127BytesRefusedBeforeTheCall: a service account whose
// subject, after the mapping gcrcred was told, is over 127 bytes is
// refused in one line naming it and the fix, with no request to Google;
// one of 127 bytes is exchanged (the fake STS, like Google, takes it).
// Untold of a prefix, gcrcred lets STS refuse; the short mapping makes a
// long name fit.
func TestSubjectOver127BytesRefusedBeforeTheCall(t *testing.T) {
	const prefix = "'cluster-a:' + assertion.sub"
	w := worldWithMapping(t, prefix)
	mapping, err := ParseSubjectMapping(prefix)
	if err != nil {
		t.Fatal(err)
	}
	// sub of 22 + 5 + 1 + 89 = 117 bytes: 127 with the 10-byte prefix.
	fits := fakegoogle.ServiceAccountClaims{Namespace: "team-", Name: strings.Repeat("n", 89)}
	over := fakegoogle.ServiceAccountClaims{Namespace: "team-", Name: strings.Repeat("n", 90)}
	ask := func(c fakegoogle.ServiceAccountClaims, m *SubjectMapping) (string, error) {
		r := w.request(t, c, "", t.TempDir())
		r.Mapping = m
		tok, err := Token(context.Background(), r)
		if err != nil {
			return "", err
		}
		return w.g.TokenSubject(tok.AccessToken), nil
	}
	if got, err := ask(fits, mapping); err != nil || got != fakegoogle.PoolPrincipal("k8s", "cluster-a:"+fakegoogle.KubernetesSubject(fits.Namespace, fits.Name)) {
		t.Fatalf("a 127-byte subject: %v, %q", err, got)
	}
	w.g.ResetCounts()
	_, err = ask(over, mapping)
	if err == nil || w.g.Count("sts") != 0 {
		t.Fatalf("a 128-byte subject: %v, %d STS requests; want a refusal before any", err, w.g.Count("sts"))
	}
	t.Log(err)
	for _, want := range []string{"service account team-/" + over.Name, "is 128 bytes", "refuses more than 127", ShortSubjectMapping, "--subject-mapping"} {
		if !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("the refusal does not say %q in one line: %v", want, err)
		}
	}
	// Not told of the prefix, gcrcred sends it; Google refuses.
	if _, err := ask(over, nil); err == nil || !strings.Contains(err.Error(), "exceeds the 127 bytes limit") || w.g.Count("sts") == 0 {
		t.Fatalf("untold of the mapping: %v, %d STS requests", err, w.g.Count("sts"))
	}

	short := "'c:' + " + ShortSubjectMapping
	w = worldWithMapping(t, short)
	m, err := ParseSubjectMapping(short)
	if err != nil {
		t.Fatal(err)
	}
	long := fakegoogle.ServiceAccountClaims{Namespace: "team-a", Name: strings.Repeat("n", 110)}
	if got, err := ask(long, m); err != nil || got != fakegoogle.PoolPrincipal("k8s", "c:team-a:"+long.Name) {
		t.Fatalf("the short mapping: %v, %q", err, got)
	}
}

// TestTokenLivesNoLongerThanTheServiceAccountToken: a service-account token
// with 12 minutes left (the kubelet refreshes at 80% of an hour) gets an
// answer that expires with it, both as the pod's principal (STS caps the
// federated token) and impersonating (gcrcred caps what the kubelet may
// cache).
func TestTokenLivesNoLongerThanTheServiceAccountToken(t *testing.T) {
	w := newWorld(t)
	gsa := w.g.AddServiceAccount("team-a")
	w.g.GrantWorkloadIdentityUser(gsa, fakegoogle.KubernetesPrincipal("k8s", "a", "puller"))
	claims := fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller", IssuedAt: time.Now().Add(-48 * time.Minute)}
	for _, annotation := range []string{"", gsa} {
		r := w.request(t, claims, annotation, t.TempDir())
		tok, err := Token(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if tok.Expiry.After(r.Claims.Expiry) || time.Until(tok.Expiry) < 11*time.Minute {
			t.Errorf("annotation %q: the answer expires %s, the service-account token %s", annotation, tok.Expiry, r.Claims.Expiry)
		}
	}
}

// TestTokenCachedAtMostAnHour: an impersonated token of 12 hours
// (token_lifetime_seconds 43200) is cached on disk, and answered, for at
// most MaxTokenAge, so a revoked grant takes effect within the hour.
func TestTokenCachedAtMostAnHour(t *testing.T) {
	w := newWorld(t)
	gsa := w.g.AddServiceAccount("team-a")
	w.g.GrantWorkloadIdentityUser(gsa, fakegoogle.KubernetesPrincipal("k8s", "a", "puller"))
	w.g.SetTokenLifetime(12 * time.Hour)
	data, err := json.Marshal(map[string]any{"type": "external_account", "audience": w.audience,
		"subject_token_type": TokenTypeJWT, "token_url": w.g.URL + "/v1/token",
		"service_account_impersonation": map[string]int{"token_lifetime_seconds": 43200}})
	if err != nil {
		t.Fatal(err)
	}
	if w.cfg, err = ParseConfig(data, "wi.json"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := w.request(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller", Lifetime: 24 * time.Hour}, gsa, dir)
	tok, err := Token(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if time.Until(tok.Expiry) > MaxTokenAge {
		t.Errorf("answered with an expiry %s away, over %s", time.Until(tok.Expiry).Round(time.Second), MaxTokenAge)
	}
	cached, ok := cache.Peek(dir, r.cacheKey(gsa))
	if !ok || cached.AccessToken != tok.AccessToken || time.Until(cached.Expiry) > MaxTokenAge {
		t.Fatalf("the disk cache holds %v (ok %v), expiring %s away; want at most %s", cached != nil, ok, time.Until(cached.Expiry).Round(time.Second), MaxTokenAge)
	}
}

// TestParseTokenSigningAlgorithm: a token STS would refuse for its
// algorithm is refused here, saying which Google accepts.
func TestParseTokenSigningAlgorithm(t *testing.T) {
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"system:serviceaccount:a:b"}`))
	for alg, ok := range map[string]bool{"RS256": true, "ES256": true, "HS256": false, "RS512": false, "none": false, "": false} {
		h, _ := json.Marshal(map[string]string{"alg": alg})
		_, err := ParseToken(base64.RawURLEncoding.EncodeToString(h) + "." + payload + ".c2ln")
		if ok != (err == nil) || err != nil && !strings.Contains(err.Error(), "accepts only RS256 and ES256") {
			t.Errorf("alg %q: %v", alg, err)
		}
	}
}

func TestParseConfigProjectNumber(t *testing.T) {
	data := []byte(`{"type":"external_account","audience":"//iam.googleapis.com/projects/my-project/locations/global/workloadIdentityPools/p/providers/k","token_url":"https://sts.googleapis.com/v1/token"}`)
	if _, err := ParseConfig(data, "wi.json"); err == nil || !strings.Contains(err.Error(), `names project "my-project"`) || !strings.Contains(err.Error(), "project number") {
		t.Fatalf("a project ID in the audience: %v", err)
	}
}

func TestParseSubjectMapping(t *testing.T) {
	c := &Claims{Namespace: "team-a", Name: "puller"}
	for expr, want := range map[string]string{
		"":                               "system:serviceaccount:team-a:puller",
		" assertion.sub ":                "system:serviceaccount:team-a:puller",
		`"x:"+assertion['sub']`:          "x:system:serviceaccount:team-a:puller",
		ShortSubjectMapping:              "team-a:puller",
		"'c1/' + " + ShortSubjectMapping: "c1/team-a:puller",
		`assertion["kubernetes.io"]["namespace"]`: "team-a",
	} {
		m, err := ParseSubjectMapping(expr)
		if err != nil || m.Subject(c) != want {
			t.Errorf("%q: %v, %q; want %q", expr, err, m.Subject(c), want)
		}
	}
	for _, bad := range []string{"assertion.email", "assertion.sub.extract('{x}')", "'a' 'b'", "'open", "assertion", "google.subject=assertion.sub", "assertion.sub +"} {
		if _, err := ParseSubjectMapping(bad); err == nil || !strings.Contains(err.Error(), "gcrcred understands") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

package fakegoogle

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/google/externalaccount"
)

const testIssuer = "https://kubernetes.default.svc.cluster.local"

func newIssuer(t *testing.T, url string) *TokenIssuer {
	t.Helper()
	iss, err := NewTokenIssuer(url)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func saToken(t *testing.T, iss *TokenIssuer, c ServiceAccountClaims) string {
	t.Helper()
	tok, err := iss.ServiceAccountToken(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// exchange asks the fake's STS for a token, as a raw form POST.
func exchange(t *testing.T, g *Google, audience, subjectToken string) (status int, body map[string]any) {
	t.Helper()
	resp, err := http.PostForm(g.URL+"/v1/token", url.Values{
		"grant_type":           {grantTokenExchange},
		"audience":             {audience},
		"subject_token_type":   {tokenTypeJWT},
		"requested_token_type": {tokenTypeAccess},
		"scope":                {CloudPlatformScope},
		"subject_token":        {subjectToken},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

type supplier string

func (s supplier) SubjectToken(context.Context, externalaccount.SupplierOptions) (string, error) {
	return string(s), nil
}

// TestSTSVerifiesKubernetesTokens: the real externalaccount code exchanges a
// service-account token for a token of the principal its sub maps to, and
// STS refuses every token that fails one of Google's checks.
func TestSTSVerifiesKubernetesTokens(t *testing.T) {
	g := newFake(t)
	iss := newIssuer(t, testIssuer)
	aud, err := g.AddOIDCProvider(OIDCProvider{Pool: "pool", Provider: "k8s", Issuer: iss.URL, JWKS: iss.JWKS()})
	if err != nil {
		t.Fatal(err)
	}
	if aud != "//iam.googleapis.com/projects/"+ProjectNumber+"/locations/global/workloadIdentityPools/pool/providers/k8s" {
		t.Fatalf("audience %q", aud)
	}
	good := ServiceAccountClaims{Namespace: "team-a", Name: "puller", UID: NewUID(), Audiences: []string{aud}}

	ts, err := externalaccount.NewTokenSource(context.Background(), externalaccount.Config{
		Audience: aud, SubjectTokenType: tokenTypeJWT, TokenURL: g.URL + "/v1/token",
		Scopes: []string{CloudPlatformScope}, SubjectTokenSupplier: supplier(saToken(t, iss, good)),
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	want := "principal://iam.googleapis.com/projects/" + ProjectNumber + "/locations/global/workloadIdentityPools/pool/subject/system:serviceaccount:team-a:puller"
	if got := g.TokenSubject(tok.AccessToken); got != want || got != KubernetesPrincipal("pool", "team-a", "puller") {
		t.Fatalf("principal %q, want %q", got, want)
	}

	https := good
	https.Audiences = []string{"https:" + aud}
	if status, body := exchange(t, g, aud, saToken(t, iss, https)); status != 200 {
		t.Fatalf("https://iam.googleapis.com/... audience refused: %v", body)
	}

	other := newIssuer(t, testIssuer) // same iss, another key
	wrongAud, expired, future, wrongIss := good, good, good, good
	wrongAud.Audiences = []string{"gcrcred"}
	expired.IssuedAt = time.Now().Add(-2 * time.Hour)
	future.IssuedAt = time.Now().Add(10 * time.Minute)
	tampered := saToken(t, iss, good)
	parts := strings.Split(tampered, ".")
	forged, _ := json.Marshal(map[string]any{"iss": testIssuer, "sub": KubernetesSubject("kube-system", "admin"), "aud": aud, "exp": time.Now().Add(time.Hour).Unix()})
	tampered = parts[0] + "." + b64(forged) + "." + parts[2]

	for _, c := range []struct {
		name, audience, token, want string
	}{
		{"another key", aud, saToken(t, other, good), "signature"},
		{"claims swapped", aud, tampered, "signature"},
		{"wrong audience", aud, saToken(t, iss, wrongAud), "audience in ID Token [gcrcred]"},
		{"expired", aud, saToken(t, iss, expired), "expired"},
		{"not yet valid", aud, saToken(t, iss, future), "not yet valid"},
		{"wrong issuer", aud, saToken(t, newIssuerSharingKey(t, iss, "https://evil.example"), wrongIss), "issuer"},
		{"unknown provider", ProviderName("pool", "nope"), saToken(t, iss, good), "doesn't exist"},
		{"not a JWT", aud, "opaque", "Unable to parse"},
	} {
		status, body := exchange(t, g, c.audience, c.token)
		desc, _ := body["error_description"].(string)
		if status != http.StatusBadRequest || !strings.Contains(desc, c.want) {
			t.Errorf("%s: %d %v, want 400 saying %q", c.name, status, body, c.want)
		}
		if strings.Contains(desc, c.token) {
			t.Errorf("%s: the error quotes the token", c.name)
		}
	}
}

func newIssuerSharingKey(t *testing.T, iss *TokenIssuer, url string) *TokenIssuer {
	t.Helper()
	i, err := LoadTokenIssuer(url, iss.KeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func TestSTSAllowedAudiencesAndECKeys(t *testing.T) {
	g := newFake(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := JWKS(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	aud, err := g.AddOIDCProvider(OIDCProvider{Issuer: testIssuer, JWKS: jwks, AllowedAudiences: []string{"gcrcred"}})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := KeyID(&key.PublicKey)
	sign := func(audience string) string {
		h, _ := json.Marshal(map[string]string{"alg": "ES256", "kid": kid})
		c, _ := json.Marshal(map[string]any{"iss": testIssuer, "sub": KubernetesSubject("ns", "sa"), "aud": []string{audience}, "exp": time.Now().Add(time.Hour).Unix()})
		signed := b64(h) + "." + b64(c)
		sum := sha256.Sum256([]byte(signed))
		r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return signed + "." + b64(append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...))
	}
	if status, body := exchange(t, g, aud, sign("gcrcred")); status != 200 || g.TokenSubject(body["access_token"].(string)) != KubernetesPrincipal("k8s", "ns", "sa") {
		t.Fatalf("allowed audience, ES256: %d %v", status, body)
	}
	// With allowed audiences set, the provider's own name is no longer one.
	if status, _ := exchange(t, g, aud, sign(aud)); status != http.StatusBadRequest {
		t.Fatalf("the provider name was accepted although allowed audiences are set")
	}
	if _, err := g.AddOIDCProvider(OIDCProvider{Issuer: testIssuer, JWKS: []byte(`{"keys":[]}`)}); err == nil {
		t.Fatal("an empty JWKS was accepted")
	}
}

// TestIAMImpersonationNeedsAGrant: a principal gets tokens only for the
// service accounts it was granted roles/iam.workloadIdentityUser on.
func TestIAMImpersonationNeedsAGrant(t *testing.T) {
	g := newFake(t)
	iss := newIssuer(t, testIssuer)
	aud, err := g.AddOIDCProvider(OIDCProvider{Pool: "pool", Issuer: iss.URL, JWKS: iss.JWKS()})
	if err != nil {
		t.Fatal(err)
	}
	gsaA, gsaB := g.AddServiceAccount("team-a"), g.AddServiceAccount("team-b")
	g.GrantWorkloadIdentityUser(gsaA, KubernetesPrincipal("pool", "a", "puller"))
	_, body := exchange(t, g, aud, saToken(t, iss, ServiceAccountClaims{Namespace: "a", Name: "puller", Audiences: []string{aud}}))
	federated, _ := body["access_token"].(string)

	impersonate := func(email string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/projects/-/serviceAccounts/"+email+":generateAccessToken",
			bytes.NewReader([]byte(`{"scope":["`+CloudPlatformScope+`"]}`)))
		req.Header.Set("Authorization", "Bearer "+federated)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			AccessToken string `json:"accessToken"`
		}
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out.AccessToken
	}
	if status, tok := impersonate(gsaA); status != 200 || g.TokenSubject(tok) != gsaA {
		t.Fatalf("granted impersonation: %d, subject %q", status, g.TokenSubject(tok))
	}
	if status, _ := impersonate(gsaB); status != http.StatusForbidden {
		t.Fatalf("ungranted impersonation: %d, want 403", status)
	}
}

// signWithHeader signs claims with iss's key under header (RS256
// signature whatever alg the header names).
func signWithHeader(t *testing.T, iss *TokenIssuer, header, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	signed := b64(h) + "." + b64(c)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, iss.key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + b64(sig)
}

// TestSTSEnforcesGooglesLimits: what real STS refuses, the fake refuses:
// a google.subject over 127 bytes after the mapping (and not before it),
// a signing algorithm other than RS256 and ES256, a token without kid, one
// living over 48 hours, a provider named by project ID, a token the
// attribute condition rejects. The federated token lives no longer than
// the subject token.
func TestSTSEnforcesGooglesLimits(t *testing.T) {
	g := newFake(t)
	iss := newIssuer(t, testIssuer)
	aud, err := g.AddOIDCProvider(OIDCProvider{Pool: "pool", Provider: "a", Issuer: iss.URL, JWKS: iss.JWKS(),
		AttributeCondition: "assertion.iss == '" + testIssuer + "'",
		AttributeMapping: map[string]string{
			"google.subject":      "'cluster-a:' + assertion.sub",
			"attribute.namespace": "'cluster-a:'+assertion['kubernetes.io'][\"namespace\"]",
		}})
	if err != nil {
		t.Fatal(err)
	}
	// 22 + 5 + 1 + 99 = 127 bytes of sub: fine unmapped, 137 mapped.
	long := ServiceAccountClaims{Namespace: "team-", Name: strings.Repeat("n", 99), Audiences: []string{aud}}
	if len(KubernetesSubject(long.Namespace, long.Name)) != 127 {
		t.Fatal("bad test: want a 127-byte sub")
	}
	status, body := exchange(t, g, aud, saToken(t, iss, long))
	if desc, _ := body["error_description"].(string); status != 400 || !strings.Contains(desc, "google.subject exceeds the 127 bytes limit") {
		t.Fatalf("a 137-byte mapped subject: %d %v", status, body)
	}
	short := ServiceAccountClaims{Namespace: "team-a", Name: "puller", Audiences: []string{aud}, Lifetime: 12 * time.Minute}
	status, body = exchange(t, g, aud, saToken(t, iss, short))
	if status != 200 {
		t.Fatalf("mapped exchange: %d %v", status, body)
	}
	tok := body["access_token"].(string)
	if got, want := g.TokenSubject(tok), PoolPrincipal("pool", "cluster-a:"+KubernetesSubject("team-a", "puller")); got != want {
		t.Fatalf("principal %q, want %q", got, want)
	}
	if m := g.TokenMembers(tok); !slices.Contains(m, PoolPrincipalSet("pool", "namespace", "cluster-a:team-a")) {
		t.Fatalf("members %v lack the namespace's principal set", m)
	}
	if in, _ := body["expires_in"].(float64); in > 12*60 || in < 11*60 {
		t.Fatalf("expires_in %v for a subject token with 12 minutes left; want at most 720", body["expires_in"])
	}

	// The subject's length limit is on the mapped value: the same sub
	// passes a provider that maps it as it is.
	plain, err := g.AddOIDCProvider(OIDCProvider{Pool: "pool", Provider: "b", Issuer: iss.URL, JWKS: iss.JWKS()})
	if err != nil {
		t.Fatal(err)
	}
	long.Audiences = []string{plain}
	if status, body := exchange(t, g, plain, saToken(t, iss, long)); status != 200 {
		t.Fatalf("a 127-byte unmapped subject: %d %v", status, body)
	}

	now := time.Now()
	claims := map[string]any{"iss": testIssuer, "sub": KubernetesSubject("team-a", "puller"), "aud": aud,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "kubernetes.io": map[string]any{"namespace": "team-a"}}
	old := map[string]any{}
	for k, v := range claims {
		old[k] = v
	}
	old["iat"], old["exp"] = now.Add(-time.Hour).Unix(), now.Add(48*time.Hour).Unix()
	otherIss := map[string]any{}
	for k, v := range claims {
		otherIss[k] = v
	}
	otherIss["iss"] = "https://other.example"
	wrongProject := strings.Replace(aud, "/projects/"+ProjectNumber+"/", "/projects/fake-project/", 1)
	for _, c := range []struct {
		name, audience, token, want string
	}{
		{"HS256", aud, signWithHeader(t, iss, map[string]any{"alg": "HS256", "kid": iss.kid}, claims), `signing algorithm "HS256" is not supported`},
		{"RS384", aud, signWithHeader(t, iss, map[string]any{"alg": "RS384", "kid": iss.kid}, claims), `signing algorithm "RS384" is not supported`},
		{"none", aud, signWithHeader(t, iss, map[string]any{"alg": "none"}, claims), `signing algorithm "none" is not supported`},
		{"no kid", aud, signWithHeader(t, iss, map[string]any{"alg": "RS256"}, claims), "no kid"},
		{"49 hours", aud, signWithHeader(t, iss, map[string]any{"alg": "RS256", "kid": iss.kid}, old), "exceeds 48h"},
		{"project ID", wrongProject, saToken(t, iss, short), "not a project number"},
		{"condition", aud, saToken(t, newIssuerSharingKey(t, iss, "https://other.example"), short), "issuer"},
	} {
		status, body := exchange(t, g, c.audience, c.token)
		if desc, _ := body["error_description"].(string); status != http.StatusBadRequest || !strings.Contains(desc, c.want) {
			t.Errorf("%s: %d %v, want 400 saying %q", c.name, status, body, c.want)
		}
	}
	// The condition itself: a provider trusting the other issuer, whose
	// condition names the first.
	other := newIssuerSharingKey(t, iss, "https://other.example")
	cond, err := g.AddOIDCProvider(OIDCProvider{Pool: "pool", Provider: "c", Issuer: other.URL, JWKS: other.JWKS(),
		AttributeCondition: "assertion.iss=='" + testIssuer + "'"})
	if err != nil {
		t.Fatal(err)
	}
	short.Audiences = []string{cond}
	if status, body := exchange(t, g, cond, saToken(t, other, short)); status != 400 || !strings.Contains(body["error_description"].(string), "attribute condition") {
		t.Errorf("the attribute condition let a token through: %d %v", status, body)
	}
	for _, bad := range []OIDCProvider{
		{Issuer: testIssuer, JWKS: iss.JWKS(), AttributeMapping: map[string]string{"attribute.namespace": "assertion.sub"}},
		{Issuer: testIssuer, JWKS: iss.JWKS(), AttributeMapping: map[string]string{"google.subject": "assertion.sub.extract('{x}')"}},
		{Issuer: testIssuer, JWKS: iss.JWKS(), AttributeCondition: "assertion.iss"},
	} {
		if _, err := g.AddOIDCProvider(bad); err == nil {
			t.Errorf("%+v was accepted", bad)
		}
	}
}

// TestPrincipalSetGrants: a grant to the namespace's principal set lets
// every service account of the namespace impersonate, and no other.
func TestPrincipalSetGrants(t *testing.T) {
	g := newFake(t)
	iss := newIssuer(t, testIssuer)
	aud, err := g.AddOIDCProvider(OIDCProvider{Pool: "pool", Issuer: iss.URL, JWKS: iss.JWKS(), AttributeMapping: map[string]string{
		"google.subject": "assertion.sub", "attribute.namespace": "assertion['kubernetes.io']['namespace']"}})
	if err != nil {
		t.Fatal(err)
	}
	gsa := g.AddServiceAccount("team-a")
	g.GrantWorkloadIdentityUser(gsa, PoolPrincipalSet("pool", "namespace", "team-a"))
	for _, c := range []struct {
		ns   string
		want int
	}{{"team-a", 200}, {"team-b", http.StatusForbidden}} {
		_, body := exchange(t, g, aud, saToken(t, iss, ServiceAccountClaims{Namespace: c.ns, Name: "any", Audiences: []string{aud}}))
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/projects/-/serviceAccounts/"+gsa+":generateAccessToken",
			bytes.NewReader([]byte(`{"scope":["`+CloudPlatformScope+`"]}`)))
		req.Header.Set("Authorization", "Bearer "+body["access_token"].(string))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s/any impersonating %s: %d, want %d", c.ns, gsa, resp.StatusCode, c.want)
		}
	}
}

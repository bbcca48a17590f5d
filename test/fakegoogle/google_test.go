package fakegoogle

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

func newFake(t *testing.T) *Google {
	t.Helper()
	g, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

// token loads a credentials file with the real x/oauth2/google code and mints a token.
func token(ctx context.Context, t *testing.T, path string) (*oauth2.Token, error) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return tokenFromJSON(ctx, t, b)
}

func tokenFromJSON(ctx context.Context, t *testing.T, b []byte) (*oauth2.Token, error) {
	t.Helper()
	var file struct{ Type string }
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	creds, err := google.CredentialsFromJSONWithTypeAndParams(ctx, b, google.CredentialsType(file.Type), google.CredentialsParams{Scopes: []string{CloudPlatformScope}})
	if err != nil {
		t.Fatalf("CredentialsFromJSONWithTypeAndParams: %v", err)
	}
	return creds.TokenSource.Token()
}

// TestCredentialFiles proves that the real library and the fake agree on all
// four credential file types.
func TestCredentialFiles(t *testing.T) {
	g := newFake(t)
	dir := t.TempDir()
	type writer func(dir, name string) (string, string, error)
	for _, tc := range []struct {
		name   string
		write  writer
		counts map[string]int64
	}{
		{"service_account", g.WriteServiceAccountKey, map[string]int64{"token": 1}},
		{"authorized_user", g.WriteAuthorizedUser, map[string]int64{"token": 1}},
		{"external_account", g.WriteExternalAccount, map[string]int64{"sts": 1, "iam": 1}},
		{"impersonated", g.WriteImpersonated, map[string]int64{"token": 1, "iam": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g.ResetCounts()
			path, ident, err := tc.write(dir, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("credentials file: %v %v, want mode 0600", fi.Mode(), err)
			}
			tok, err := token(context.Background(), t, path)
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if !g.Valid(tok.AccessToken) || !strings.HasPrefix(tok.AccessToken, "ya29.fake-") {
				t.Fatalf("token %q not valid", tok.AccessToken)
			}
			if got := g.TokenSubject(tok.AccessToken); got != ident {
				t.Errorf("TokenSubject = %q, want %q", got, ident)
			}
			if d := time.Until(tok.Expiry); d < 59*time.Minute || d > 61*time.Minute {
				t.Errorf("expiry in %v, want about an hour", d)
			}
			for _, ep := range []string{"token", "sts", "iam", "metadata"} {
				if got := g.Count(ep); got != tc.counts[ep] {
					t.Errorf("Count(%q) = %d, want %d", ep, got, tc.counts[ep])
				}
			}
		})
	}
}

func TestIdentitiesAreDistinct(t *testing.T) {
	g := newFake(t)
	dir := t.TempDir()
	p1, e1, err := g.WriteServiceAccountKey(dir, "one")
	if err != nil {
		t.Fatal(err)
	}
	p2, e2, err := g.WriteServiceAccountKey(dir, "two")
	if err != nil {
		t.Fatal(err)
	}
	if e1 == e2 {
		t.Fatalf("same e-mail %q", e1)
	}
	t1, err := token(context.Background(), t, p1)
	if err != nil {
		t.Fatal(err)
	}
	t2, err := token(context.Background(), t, p2)
	if err != nil {
		t.Fatal(err)
	}
	if g.TokenSubject(t1.AccessToken) != e1 || g.TokenSubject(t2.AccessToken) != e2 {
		t.Errorf("subjects %q %q", g.TokenSubject(t1.AccessToken), g.TokenSubject(t2.AccessToken))
	}
	k1, _ := os.ReadFile(p1)
	k2, _ := os.ReadFile(p2)
	if !g.KnownServiceAccountKey(k1) || !g.KnownServiceAccountKey(k2) {
		t.Error("KnownServiceAccountKey rejects a key it wrote")
	}
	// A key whose e-mail and key id do not belong together is unknown.
	var m map[string]any
	json.Unmarshal(k1, &m)
	m["client_email"] = e2
	forged, _ := json.Marshal(m)
	if g.KnownServiceAccountKey(forged) {
		t.Error("KnownServiceAccountKey accepts a mismatched client_email/private_key_id")
	}
	if _, err := tokenFromJSON(context.Background(), t, forged); err == nil {
		t.Error("token endpoint accepts a JWT whose kid belongs to another account")
	}
	if g.Valid("ya29.fake-never-issued") || g.TokenSubject("ya29.fake-never-issued") != "" {
		t.Error("unknown token is valid")
	}
}

func TestRejections(t *testing.T) {
	g := newFake(t)
	dir := t.TempDir()
	ctx := context.Background()

	path, _, err := g.WriteServiceAccountKey(dir, "sa")
	if err != nil {
		t.Fatal(err)
	}
	var key map[string]any
	b, _ := os.ReadFile(path)
	json.Unmarshal(b, &key)
	key["token_uri"] = g.URL + "/token?elsewhere" // aud no longer names the endpoint
	b, _ = json.Marshal(key)
	if _, err := tokenFromJSON(ctx, t, b); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("wrong aud: err = %v, want invalid_grant", err)
	}

	path, _, err = g.WriteAuthorizedUser(dir, "user")
	if err != nil {
		t.Fatal(err)
	}
	var user map[string]any
	b, _ = os.ReadFile(path)
	json.Unmarshal(b, &user)
	user["refresh_token"] = "1//not-the-right-one"
	b, _ = json.Marshal(user)
	var re *oauth2.RetrieveError
	if _, err := tokenFromJSON(ctx, t, b); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("wrong refresh token: err = %v, want invalid_grant", err)
	}
	// A refresh_token grant may also authenticate the client with HTTP Basic.
	json.Unmarshal(mustRead(t, path), &user)
	cfg := oauth2.Config{
		ClientID: user["client_id"].(string), ClientSecret: user["client_secret"].(string),
		Endpoint: oauth2.Endpoint{TokenURL: g.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader},
	}
	tok, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: user["refresh_token"].(string)}).Token()
	if err != nil || !g.Valid(tok.AccessToken) {
		t.Errorf("Basic client auth: %v", err)
	}

	// IAM needs a valid bearer token.
	req, _ := http.NewRequest("POST", g.impersonationURL(serviceAccountEmail("sa")), strings.NewReader(`{"scope":["x"]}`))
	req.Header.Set("Authorization", "Bearer ya29.fake-bogus")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("IAM with a bogus token: %d", resp.StatusCode)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMetadata(t *testing.T) {
	g := newFake(t)
	t.Setenv("GCE_METADATA_HOST", g.MetadataHost())

	tok, err := google.ComputeTokenSource("", CloudPlatformScope).Token()
	if err != nil {
		t.Fatal(err)
	}
	if !g.Valid(tok.AccessToken) || g.TokenSubject(tok.AccessToken) != MetadataSubject {
		t.Fatalf("metadata token not valid or subject %q", g.TokenSubject(tok.AccessToken))
	}
	if g.Count("metadata") != 1 || g.Count("token") != 0 {
		t.Errorf("counts metadata=%d token=%d", g.Count("metadata"), g.Count("token"))
	}

	get := func(path string, flavor bool) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+g.MetadataHost()+path, nil)
		if flavor {
			req.Header.Set("Metadata-Flavor", "Google")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.Header.Get("Metadata-Flavor") != "Google" {
			t.Errorf("%s: no Metadata-Flavor reply header", path)
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/computeMetadata/v1/project/project-id", false); code != http.StatusForbidden {
		t.Errorf("without Metadata-Flavor: %d, want 403", code)
	}
	if code, body := get("/computeMetadata/v1/project/project-id", true); code != 200 || body != ProjectID {
		t.Errorf("project-id: %d %q", code, body)
	}
	if code, body := get("/computeMetadata/v1/instance/service-accounts/default/email", true); code != 200 || body != MetadataEmail {
		t.Errorf("email: %d %q", code, body)
	}
	if code, _ := get("/computeMetadata/v1/", true); code != 200 {
		t.Errorf("root probe: %d", code)
	}
	if g.Count("metadata") != 1 {
		t.Errorf("non-token metadata requests counted as metadata: %d", g.Count("metadata"))
	}
}

func TestFaults(t *testing.T) {
	g := newFake(t)
	path, _, err := g.WriteAuthorizedUser(t.TempDir(), "user")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	g.Fail("token", Fault{Status: 503, Times: 1})
	if _, err := token(ctx, t, path); err == nil {
		t.Error("Status fault: no error")
	}
	if _, err := token(ctx, t, path); err != nil {
		t.Errorf("fault outlived Times: %v", err)
	}

	g.Fail("token", Fault{Garbage: true})
	if _, err := token(ctx, t, path); err == nil {
		t.Error("Garbage fault: no error")
	}
	g.Fail("token", Fault{})
	if _, err := token(ctx, t, path); err != nil {
		t.Errorf("cleared fault still applies: %v", err)
	}

	// Hang ends when the client gives up...
	g.Fail("token", Fault{Hang: true})
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := token(cctx, t, path); err == nil {
		t.Error("Hang fault: no error")
	}
	// ...and when the fake closes.
	errc := make(chan error, 1)
	go func() {
		_, err := token(ctx, t, path)
		errc <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); g.Count("token") < 6; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the hanging request never arrived")
		}
	}
	closed := make(chan struct{})
	go func() { g.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close blocked on a hanging request")
	}
	if err := <-errc; err == nil {
		t.Error("hanging request succeeded after Close")
	}
}

func TestTokenLifetimeAndStats(t *testing.T) {
	g := newFake(t)
	path, _, err := g.WriteServiceAccountKey(t.TempDir(), "sa")
	if err != nil {
		t.Fatal(err)
	}
	g.SetTokenLifetime(200 * time.Millisecond)
	tok, err := token(context.Background(), t, path)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(tok.Expiry); d > time.Second {
		t.Errorf("expiry in %v, want about 200ms", d)
	}
	for deadline := time.Now().Add(5 * time.Second); g.Valid(tok.AccessToken); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("token still valid long after its expiry")
		}
	}

	resp, err := http.Get(g.URL + "/_stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var stats map[string]int64
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil || stats["token"] != 1 {
		t.Errorf("stats %v %v", stats, err)
	}
}

// TestTLSProxy reaches the fake as https://oauth2.googleapis.com/token through
// the CONNECT proxy, as a tool that hard-codes Google's URL would.
func TestTLSProxy(t *testing.T) {
	g := newFake(t)
	caFile, addr, err := g.StartTLS()
	if err != nil {
		t.Fatal(err)
	}
	proxy, closeProxy, err := StartConnectProxy(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer closeProxy()
	if _, _, err := StartConnectProxy("192.0.2.1:443"); err == nil {
		t.Error("proxy accepted a non-loopback target")
	}

	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(mustRead(t, caFile)) {
		t.Fatal("bad CA file")
	}
	pu, _ := url.Parse(proxy)
	hc := &http.Client{Transport: &http.Transport{
		Proxy:           http.ProxyURL(pu),
		TLSClientConfig: &tls.Config{RootCAs: pool},
	}}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)

	path, email, err := g.WriteServiceAccountKey(t.TempDir(), "sa")
	if err != nil {
		t.Fatal(err)
	}
	var key map[string]any
	json.Unmarshal(mustRead(t, path), &key)
	key["token_uri"] = "https://oauth2.googleapis.com/token"
	b, _ := json.Marshal(key)
	tok, err := tokenFromJSON(ctx, t, b)
	if err != nil {
		t.Fatal(err)
	}
	if !g.Valid(tok.AccessToken) || g.TokenSubject(tok.AccessToken) != email {
		t.Error("token through TLS proxy not valid")
	}

	g.Close()
	if _, err := os.Stat(caFile); !os.IsNotExist(err) {
		t.Errorf("CA file left after Close: %v", err)
	}
}

package credfile

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
)

// A key x/oauth2 could not sign with is refused before a mint, also where
// an impersonated_service_account signs with its source's key; nothing of
// the key is quoted.
func TestCheckKey(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	good := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	const bad = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END PRIVATE KEY-----\n"
	key := func(k string) map[string]any {
		return map[string]any{"type": ServiceAccount, "client_email": "a@p.iam.gserviceaccount.com", "private_key": k}
	}
	impersonating := func(source map[string]any) map[string]any {
		return map[string]any{"type": ImpersonatedServiceAccount, "source_credentials": source,
			"service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/b@p.iam.gserviceaccount.com:generateAccessToken"}
	}
	for _, c := range []struct {
		name string
		file map[string]any
		want string // "" for no error
	}{
		{"a good key", key(good), ""},
		{"a broken key", key(bad), "private_key in key.json is not a PEM-encoded RSA key"},
		{"a user login", map[string]any{"type": AuthorizedUser, "refresh_token": "r", "client_id": "c"}, ""},
		{"impersonation from a good key", impersonating(key(good)), ""},
		{"impersonation from a broken key", impersonating(key(bad)), "private_key in key.json (source_credentials) is not a PEM-encoded RSA key"},
	} {
		b, _ := json.Marshal(c.file)
		err := CheckKey(b, "key.json")
		switch {
		case c.want == "" && err != nil, c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		case err != nil && strings.Contains(err.Error(), "c2VjcmV0"):
			t.Errorf("%s: the error quotes the key: %v", c.name, err)
		}
	}
}

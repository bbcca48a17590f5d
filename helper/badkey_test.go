package helper_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/test/testbin"
)

// A key whose private_key does not parse fails at once, when the file is
// read: no request to the token endpoint, no retries, no advice about the
// network, and none of the key in the output.
func TestUnparseableKeyFailsAtOnce(t *testing.T) {
	t.Parallel()
	g, sa, _ := googleWithKey(t)
	var key map[string]any
	b, err := os.ReadFile(sa)
	must(t, err)
	must(t, json.Unmarshal(b, &key))
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	ecDER, err := x509.MarshalPKCS8PrivateKey(ec)
	must(t, err)
	for _, c := range []struct{ name, pem, secret string }{
		{"not PEM", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSj-not-pem-secret", "not-pem-secret"},
		{"PEM of garbage", "-----BEGIN PRIVATE KEY-----\nZ2FyYmFnZS1zZWNyZXQtYnl0ZXM=\n-----END PRIVATE KEY-----\n", "Z2FyYmFnZS1zZWNyZXQ"},
		{"EC key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})), "-----BEGIN"},
	} {
		key["private_key"] = c.pem
		out, _ := json.Marshal(key)
		path := filepath.Join(t.TempDir(), "key.json")
		must(t, os.WriteFile(path, out, 0o600))
		env := testbin.InEnv(t, "GCRCRED_CREDENTIALS="+path)
		want := "private_key in " + path + " is not a PEM-encoded RSA key: create a new key (gcloud iam service-accounts keys create)"
		for _, args := range [][]string{{"doctor"}, {"token"}} {
			r := run(t, env, "", "gcrcred", args...)
			all := r.Stdout + r.Stderr
			if r.Code == 0 || !strings.Contains(all, want) {
				t.Errorf("%s, gcrcred %s: exit %d, want it to say %q:\n%s", c.name, args[0], r.Code, want, all)
			}
			for _, never := range []string{"attempt(s)", "check the network", c.secret} {
				if strings.Contains(all, never) {
					t.Errorf("%s, gcrcred %s says %q:\n%s", c.name, args[0], never, all)
				}
			}
		}
	}
	if n := g.Count("token"); n != 0 {
		t.Errorf("%d requests to the token endpoint for keys that do not parse", n)
	}
}

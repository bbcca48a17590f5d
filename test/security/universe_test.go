package security

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/internal/endpoint"
	"github.com/gcrcred/gcrcred/test/fakegoogle"
	"github.com/gcrcred/gcrcred/test/testbin"
)

// A file's universe_domain is the file author's choice, and x/oauth2 builds
// hosts from it (sts.UNIVERSE when token_url is absent) and gcrcred's old
// rule took endpoints "in the file's universe". Here the intruder's files
// name their own universe, evil.example, whose hosts really answer (the
// foreign listener on 127.0.0.2 over TLS with a certificate for them,
// reached through a CONNECT proxy): a workload identity configuration for
// every pod's service-account token (x/oauth2's default token_url becomes
// sts.evil.example), a key the kubelet's plugin signs for, and a
// workstation federation file reading root's own file, whose endpoints
// the old rule took "in the file's universe". Each is
// refused on every path, naming the file, the field and the rule, and the
// foreign host gets nothing.
func TestUniverseOfTheFilesOwn(t *testing.T) {
	// world is a credsWorld whose foreign listener answers as evil.example's
	// hosts, and the environment that reaches it there.
	world := func(t *testing.T) (*credsWorld, []string) {
		w := newCredsWorld(t)
		caFile, proxy := w.foreign.TLS(t, "oauth2.evil.example", "sts.evil.example", "iamcredentials.evil.example")
		t.Cleanup(func() {
			if n := w.g.Count("sts") + w.g.Count("token") + w.g.Count("iam"); n != 0 {
				t.Errorf("%d requests reached the fake Google for a refused file", n)
			}
		})
		return w, []string{"HTTPS_PROXY=" + proxy, "SSL_CERT_FILE=" + caFile}
	}
	want := func(file string) []string {
		return []string{file, `universe_domain "evil.example" is refused`, endpoint.UniverseRule}
	}

	t.Run("workload identity configuration", func(t *testing.T) {
		w, reach := world(t)
		iss, err := fakegoogle.NewTokenIssuer("https://kubernetes.default.svc.cluster.local")
		must(t, err)
		aud, err := w.g.AddOIDCProvider(fakegoogle.OIDCProvider{Pool: "k8s", Provider: "cluster", Issuer: iss.URL, JWKS: iss.JWKS()})
		must(t, err)
		sa, err := iss.ServiceAccountToken(fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller", UID: fakegoogle.NewUID(), Audiences: []string{aud}})
		must(t, err)
		file := w.plant(t, "wi-universe.json", map[string]any{"type": "external_account", "universe_domain": "evil.example",
			"audience": aud, "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
			"credential_source": map[string]any{"file": "/var/run/service-account/token"}})
		env := testbin.Env(t, append(reach, "GCRCRED_WORKLOAD_IDENTITY="+file, "GCRCRED_POD_IDENTITY=all")...)
		r := testbin.Run(t, env, kubeletRequest(map[string]any{"serviceAccountToken": sa}), "gcrcred", "get-credentials")
		refused(t, "get-credentials for a pod", r, want(file)...)
		r = testbin.Run(t, testbin.Env(t), nil, "gcrcred", "kubelet-config", "--workload-identity", file, "--service-account-audience", aud)
		refused(t, "kubelet-config", r, want(file)...)
		_, key, _ := testbin.GoogleWithKey(t, "node")
		nodeInstall(t, want(file), "--credentials", key, "--workload-identity", file, "--service-account-audience", aud)
		if got := strings.Join(w.foreign.Requests(), "\n"); strings.Contains(got, sa) {
			t.Error("the pod's service-account token reached sts.evil.example")
		}
		w.nothingSent(t, "a workload identity configuration of its own universe")
	})

	t.Run("service-account key on a node", func(t *testing.T) {
		w, reach := world(t)
		keyPath, _, err := w.g.WriteServiceAccountKey(t.TempDir(), "sa")
		must(t, err)
		var key map[string]any
		b, err := os.ReadFile(keyPath)
		must(t, err)
		must(t, json.Unmarshal(b, &key))
		key["universe_domain"], key["token_uri"] = "evil.example", "https://oauth2.evil.example/token"
		file := w.plant(t, "key-universe.json", key)
		env := testbin.Env(t, append(reach, "GCRCRED_CREDENTIALS="+file)...)
		refused(t, "get-credentials", testbin.Run(t, env, kubeletRequest(nil), "gcrcred", "get-credentials"), want(file)...)
		refused(t, "the Docker helper", testbin.Run(t, env, []byte("gcr.io"), "docker-credential-gcrcred", "get"), want(file)...)
		nodeInstall(t, want(file), "--credentials", file)
		w.nothingSent(t, "a key of its own universe")
	})

	t.Run("federation file on a workstation", func(t *testing.T) {
		w, reach := world(t)
		// x/oauth2 takes no universe from an external_account file; the old
		// rule took its token_url in "the file's universe".
		file := w.plant(t, "federation-universe.json", map[string]any{"type": "external_account", "universe_domain": "evil.example",
			"audience": pool, "subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "token_url": "https://sts.evil.example/v1/token",
			"credential_source": map[string]any{"file": w.secret, "format": map[string]string{"type": "text"}}})
		env := testbin.Env(t, append(reach, "GCRCRED_CREDENTIALS="+file)...)
		refused(t, "the Docker helper", testbin.Run(t, env, []byte("gcr.io"), "docker-credential-gcrcred", "get"), want(file)...)
		refused(t, "token", testbin.Run(t, env, nil, "gcrcred", "token"), want(file)...)
		w.nothingSent(t, "a federation file of its own universe")
	})
}

package provider_test

// Per-pod identity, process level: the built binary answers requests that
// carry a pod's service-account token with a token for that pod's own
// identity, minted through the fake STS (which verifies the token against
// the test issuer's keys) and the fake IAM (which enforces grants).

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/internal/fakegoogle"
	"github.com/gcrcred/gcrcred/internal/kubeletapi"
	"github.com/gcrcred/gcrcred/internal/testbin"
)

const annotationKey = "iam.gke.io/gcp-service-account"

// podWorld is a fake Google with a pool provider that trusts a test
// issuer, two Google service accounts granted to a/puller and b/puller, and
// the credential configuration a node would have.
type podWorld struct {
	g          *fakegoogle.Google
	iss        *fakegoogle.TokenIssuer
	audience   string
	config     string
	gsaA, gsaB string
}

func newPodWorld(t *testing.T) *podWorld {
	t.Helper()
	g := newGoogle(t)
	iss, err := fakegoogle.NewTokenIssuer("https://kubernetes.default.svc.cluster.local")
	must(t, err)
	aud, err := g.AddOIDCProvider(fakegoogle.OIDCProvider{Pool: "k8s", Provider: "cluster", Issuer: iss.URL, JWKS: iss.JWKS()})
	must(t, err)
	config, err := g.WriteWorkloadIdentityConfig(t.TempDir(), "workload-identity", aud, "")
	must(t, err)
	w := &podWorld{g: g, iss: iss, audience: aud, config: config,
		gsaA: g.AddServiceAccount("team-a"), gsaB: g.AddServiceAccount("team-b")}
	g.GrantWorkloadIdentityUser(w.gsaA, fakegoogle.KubernetesPrincipal("k8s", "a", "puller"))
	g.GrantWorkloadIdentityUser(w.gsaB, fakegoogle.KubernetesPrincipal("k8s", "b", "puller"))
	return w
}

// env is the plugin's environment as the kubelet config sets it.
func (w *podWorld) env(t *testing.T, extra ...string) []string {
	return testbin.Env(t, append([]string{"GCRCRED_WORKLOAD_IDENTITY=" + w.config, "GCRCRED_TIMEOUT=2s"}, extra...)...)
}

// token is a service-account token for ns/name, valid for the provider
// unless c says otherwise.
func (w *podWorld) token(t *testing.T, c fakegoogle.ServiceAccountClaims) string {
	t.Helper()
	if c.Audiences == nil {
		c.Audiences = []string{w.audience}
	}
	if c.UID == "" {
		c.UID = fakegoogle.NewUID()
	}
	tok, err := w.iss.ServiceAccountToken(c)
	must(t, err)
	return tok
}

// saRequest is a v1 request for gcr.io/p/i carrying a service-account
// token and, if gsa is not empty, the annotation naming it.
func saRequest(token, gsa string) []byte {
	req := map[string]any{"apiVersion": kubeletapi.APIVersionV1, "kind": "CredentialProviderRequest",
		"image": "gcr.io/p/i", "serviceAccountToken": token}
	if gsa != "" {
		req["serviceAccountAnnotations"] = map[string]string{annotationKey: gsa}
	}
	b, _ := json.Marshal(req)
	return b
}

// noSecret fails if stderr holds the token, any part of it, or anything
// Redact had to remove (then a secret reached the logger at all).
func noSecret(t *testing.T, stderr string, tokens ...string) {
	t.Helper()
	for _, tok := range tokens {
		for _, part := range append(strings.Split(tok, "."), tok) {
			if len(part) >= 8 && strings.Contains(stderr, part) {
				t.Fatalf("stderr holds (part of) a token:\n%s", stderr)
			}
		}
	}
	if strings.Contains(stderr, "[redacted]") || strings.Contains(stderr, "ya29.") {
		t.Fatalf("a secret reached the log (Redact had to step in):\n%s", stderr)
	}
}

// TestGetCredentialsPerPodIdentity: two service accounts get two different
// tokens, each for the Google service account its annotation names; one
// without an annotation gets its own principal's token; a second pod of an
// account is answered from the disk cache; the answer is what the kubelet
// accepts for cacheType ServiceAccount.
func TestGetCredentialsPerPodIdentity(t *testing.T) {
	w := newPodWorld(t)
	env := w.env(t)
	uidA := fakegoogle.NewUID()
	tokA := w.token(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller", UID: uidA, PodName: "a-1"})
	tokB := w.token(t, fakegoogle.ServiceAccountClaims{Namespace: "b", Name: "puller", PodName: "b-1"})
	tokC := w.token(t, fakegoogle.ServiceAccountClaims{Namespace: "c", Name: "plain"})

	respA := decodeResponse(t, getCredentials(t, env, saRequest(tokA, w.gsaA)))
	respB := decodeResponse(t, getCredentials(t, env, saRequest(tokB, w.gsaB)))
	respC := decodeResponse(t, getCredentials(t, env, saRequest(tokC, "")))
	a, b, c := respA.Auth["gcr.io"], respB.Auth["gcr.io"], respC.Auth["gcr.io"]
	if a.Username != "oauth2accesstoken" || w.g.TokenSubject(a.Password) != w.gsaA || !w.g.Valid(a.Password) {
		t.Fatalf("a/puller got a token for %q", w.g.TokenSubject(a.Password))
	}
	if w.g.TokenSubject(b.Password) != w.gsaB || a.Password == b.Password {
		t.Fatalf("b/puller got a token for %q", w.g.TokenSubject(b.Password))
	}
	if got := w.g.TokenSubject(c.Password); got != fakegoogle.KubernetesPrincipal("k8s", "c", "plain") {
		t.Fatalf("c/plain (no annotation) got a token for %q, want its principal", got)
	}
	for _, r := range []kubeletapi.CredentialProviderResponse{respA, respB, respC} {
		if r.CacheKeyType != "Registry" || r.CacheDuration == nil || r.CacheDuration.Duration < 54*time.Minute || r.CacheDuration.Duration > 55*time.Minute {
			t.Fatalf("cacheKeyType %s, cacheDuration %v: want Registry and just under 55m", r.CacheKeyType, r.CacheDuration)
		}
	}
	if w.g.Count("sts") != 3 || w.g.Count("iam") != 2 || w.g.Count("token") != 0 {
		t.Fatalf("sts %d, iam %d, token %d; want 3, 2, 0", w.g.Count("sts"), w.g.Count("iam"), w.g.Count("token"))
	}
	// Another pod of a/puller, with its own token: the cached token.
	tokA2 := w.token(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller", UID: uidA, PodName: "a-2"})
	if again := decodeResponse(t, getCredentials(t, env, saRequest(tokA2, w.gsaA))); again.Auth["gcr.io"].Password != a.Password || w.g.Count("sts") != 3 {
		t.Fatalf("a second pod of a/puller was not answered from the cache (sts %d)", w.g.Count("sts"))
	}
}

// TestGetCredentialsPerPodIdentityRefusals: tokens Google's STS refuses,
// and an expired one, fail in one line that names the service account and
// never the token; so does an impersonation Google does not allow.
func TestGetCredentialsPerPodIdentityRefusals(t *testing.T) {
	w := newPodWorld(t)
	other, err := fakegoogle.NewTokenIssuer(w.iss.URL) // same issuer URL, another key
	must(t, err)
	forged, err := other.ServiceAccountToken(fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller", UID: fakegoogle.NewUID(), Audiences: []string{w.audience}})
	must(t, err)
	for _, c := range []struct {
		name, token, gsa, want string
	}{
		{"bad signature", forged, w.gsaA, "signature"},
		{"wrong audience", w.token(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller", Audiences: []string{"https://kubernetes.default.svc"}}), w.gsaA, "does not match the expected audience"},
		{"expired", w.token(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller", IssuedAt: time.Now().Add(-90 * time.Minute)}), w.gsaA, "expired at"},
		{"not granted", w.token(t, fakegoogle.ServiceAccountClaims{Namespace: "b", Name: "puller"}), w.gsaA, "roles/iam.workloadIdentityUser"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := getCredentials(t, w.env(t, "GCRCRED_LOG=debug"), saRequest(c.token, c.gsa))
			if r.Code == 0 || r.Stdout != "" {
				t.Fatalf("exit %d, stdout %q", r.Code, r.Stdout)
			}
			last := r.Stderr[strings.LastIndex(strings.TrimRight(r.Stderr, "\n"), "\n")+1:]
			if !strings.HasPrefix(last, "gcrcred get-credentials: credentials for gcr.io: service account ") || !strings.Contains(last, c.want) {
				t.Fatalf("last stderr line does not name the service account and say %q:\n%s", c.want, r.Stderr)
			}
			noSecret(t, r.Stderr, c.token)
		})
	}
	// Without debug the failure is exactly one line.
	r := getCredentials(t, w.env(t), saRequest(forged, w.gsaA))
	mustFail(t, r, "service account a/puller")
}

// TestGetCredentialsRequireServiceAccount: under --require-service-account
// a request without a token is refused, without asking Google; without it,
// such a request gets the node's credentials.
func TestGetCredentialsRequireServiceAccount(t *testing.T) {
	w := newPodWorld(t)
	key, email, err := w.g.WriteServiceAccountKey(t.TempDir(), "node")
	must(t, err)
	plain := request(kubeletapi.APIVersionV1, "gcr.io/p/i")

	r := getCredentials(t, w.env(t, "GCRCRED_REQUIRE_SERVICE_ACCOUNT=true", "GCRCRED_CREDENTIALS="+key), plain)
	mustFail(t, r, "the request carries no service-account token")
	r = getCredentials(t, w.env(t, "GCRCRED_CREDENTIALS="+key), plain, "--require-service-account")
	mustFail(t, r, "answers only with a pod's own identity")
	if n := w.g.Count("token") + w.g.Count("sts"); n != 0 {
		t.Fatalf("%d requests to Google for a refused request", n)
	}

	resp := decodeResponse(t, getCredentials(t, w.env(t, "GCRCRED_CREDENTIALS="+key), plain))
	if w.g.TokenSubject(resp.Auth["gcr.io"].Password) != email {
		t.Fatalf("without a token and without require: not the node's key")
	}

	r = getCredentials(t, testbin.Env(t, "GCRCRED_REQUIRE_SERVICE_ACCOUNT=true"), plain)
	mustFail(t, r, "GCRCRED_REQUIRE_SERVICE_ACCOUNT is set but GCRCRED_WORKLOAD_IDENTITY is not")
	r = getCredentials(t, w.env(t, "GCRCRED_REQUIRE_SERVICE_ACCOUNT=maybe"), plain)
	mustFail(t, r, `GCRCRED_REQUIRE_SERVICE_ACCOUNT="maybe" is neither true nor false`)
}

// TestGetCredentialsPerPodDebugLogHoldsNoSecret: at GCRCRED_LOG=debug, a
// mint, a cache hit and a failure log what happened, and neither the
// service-account token nor any minted token.
func TestGetCredentialsPerPodDebugLogHoldsNoSecret(t *testing.T) {
	w := newPodWorld(t)
	env := w.env(t, "GCRCRED_LOG=debug")
	tok := w.token(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller"})
	minted := getCredentials(t, env, saRequest(tok, w.gsaA))
	cached := getCredentials(t, env, saRequest(tok, w.gsaA))
	w.g.Fail("sts", fakegoogle.Fault{Status: 400})
	failed := getCredentials(t, w.env(t, "GCRCRED_LOG=debug"), saRequest(tok, w.gsaA))
	w.g.Fail("sts", fakegoogle.Fault{})
	answer := decodeResponse(t, minted).Auth["gcr.io"].Password
	if failed.Code == 0 || !strings.Contains(minted.Stderr, "debug: service account a/puller") || !strings.Contains(cached.Stderr, "using cached token") {
		t.Fatalf("the debug log does not tell the story:\n%s\n%s\n%s", minted.Stderr, cached.Stderr, failed.Stderr)
	}
	for _, r := range []result{minted, cached, failed} {
		noSecret(t, r.Stderr, tok, answer)
	}
	bad := getCredentials(t, env, saRequest("not-a-jwt-but-secret-text", w.gsaA))
	mustFail(t, bad, "not a Kubernetes service-account token")
	noSecret(t, bad.Stderr, "not-a-jwt-but-secret-text")
}

// TestGetCredentialsPerPodBadConfiguration: a broken configuration file is
// named, as is the field at fault.
func TestGetCredentialsPerPodBadConfiguration(t *testing.T) {
	w := newPodWorld(t)
	key, _, err := w.g.WriteServiceAccountKey(t.TempDir(), "not-a-federation-file")
	must(t, err)
	tok := w.token(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller"})
	r := getCredentials(t, testbin.Env(t, "GCRCRED_WORKLOAD_IDENTITY="+key), saRequest(tok, ""))
	mustFail(t, r, `workload identity configuration `+key+`: type is "service_account", want external_account`)
	missing := filepath.Join(t.TempDir(), "gone.json")
	r = getCredentials(t, testbin.Env(t), saRequest(tok, ""), "--workload-identity", missing)
	mustFail(t, r, missing)
}

func TestKubeletConfigPerPodIdentity(t *testing.T) {
	w := newPodWorld(t)
	run := func(args ...string) result {
		return testbin.Run(t, testbin.Env(t), nil, "gcrcred", append([]string{"kubelet-config"}, args...)...)
	}
	r := run("--service-account-audience", w.audience, "--workload-identity", w.config, "--require-service-account", "--cache-dir", "/var/cache/gcrcred")
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	for _, want := range []string{
		"tokenAttributes:\n",
		"    cacheType: ServiceAccount\n",
		"    optionalServiceAccountAnnotationKeys:\n    - iam.gke.io/gcp-service-account\n",
		"    requireServiceAccount: true\n",
		"    serviceAccountTokenAudience: " + w.audience + "\n",
		"  - name: GCRCRED_WORKLOAD_IDENTITY\n    value: " + w.config + "\n",
		"  - name: GCRCRED_REQUIRE_SERVICE_ACCOUNT\n    value: \"true\"\n",
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("config lacks %q:\n%s", want, r.Stdout)
		}
	}
	if !strings.Contains(r.Stderr, "request-serviceaccounts-token-audience") {
		t.Errorf("no word about the RBAC the API server needs: %q", r.Stderr)
	}

	notWI, _, err := w.g.WriteServiceAccountKey(t.TempDir(), "k")
	must(t, err)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--api-version", "v1beta1", "--service-account-audience", "x", "--workload-identity", w.config}, "need --api-version v1"},
		{[]string{"--service-account-audience", "x"}, "go together"},
		{[]string{"--workload-identity", w.config}, "go together"},
		{[]string{"--require-service-account"}, "go together"},
		{[]string{"--service-account-audience", "x", "--workload-identity", "wi.json"}, "must be an absolute path"},
		{[]string{"--service-account-audience", "x", "--workload-identity", "/nonexistent/wi.json"}, "does not exist"},
		{[]string{"--service-account-audience", "x", "--workload-identity", notWI}, "want external_account"},
		{[]string{"--service-account-audience", "a b", "--workload-identity", w.config}, "spaces or control characters"},
	} {
		r := run(c.args...)
		if r.Code != 2 || r.Stdout != "" || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 saying %q", c.args, r.Code, r.Stderr, c.want)
		}
	}
}

func TestWorkloadIdentitySetupHelp(t *testing.T) {
	run := func(args ...string) result {
		return testbin.Run(t, testbin.Env(t), nil, "gcrcred", append([]string{"workload-identity"}, args...)...)
	}
	r := run("setup-help")
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	for _, want := range []string{
		"kubectl get --raw /.well-known/openid-configuration",
		"kubectl get --raw /openid/v1/jwks > cluster-jwks.json",
		"gcloud iam workload-identity-pools create \"$POOL\"",
		"gcloud iam workload-identity-pools providers create-oidc",
		"--jwk-json-path=cluster-jwks.json",
		"--attribute-mapping=google.subject=assertion.sub",
		"--role=roles/iam.workloadIdentityUser",
		"--member=\"principal://iam.googleapis.com/projects/$PROJECT_NUMBER/locations/global/workloadIdentityPools/$POOL/subject/system:serviceaccount:$NAMESPACE:$NAME\"",
		"kubectl annotate serviceaccount -n \"$NAMESPACE\" \"$NAME\" iam.gke.io/gcp-service-account=\"$GSA\"",
		"--role=roles/artifactregistry.reader",
		"gcloud iam workload-identity-pools create-cred-config \"$PROVIDER_NAME\"",
		"sudo gcrcred node install --workload-identity workload-identity.json",
		"verbs: [request-serviceaccounts-token-audience]",
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("setup-help lacks %q", want)
		}
	}
	if strings.Contains(r.Stdout, "--allowed-audiences") {
		t.Error("the default audience needs no allowed audiences")
	}

	jwks := filepath.Join(t.TempDir(), "jwks.json")
	iss, err := fakegoogle.NewTokenIssuer("https://kubernetes.default.svc.cluster.local")
	must(t, err)
	must(t, os.WriteFile(jwks, iss.JWKS(), 0o644))
	r = run("setup-help", "--audience", "gcrcred", "--issuer", iss.URL, "--jwks", jwks)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	for _, want := range []string{"ISSUER=https://kubernetes.default.svc.cluster.local\n", "--jwk-json-path=" + jwks, "AUDIENCE=gcrcred\n", "--allowed-audiences=\"$AUDIENCE\""} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("setup-help with flags lacks %q", want)
		}
	}
	if strings.Contains(r.Stdout, "kubectl get --raw") {
		t.Error("issuer and keys were given, yet it still fetches them")
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"setup-help", "--issuer", "http://insecure.example"}, 2, "not an https URL"},
		{[]string{"setup-help", "--jwks", iss.URL}, 2, "--jwks"},
		{[]string{"setup-help", "--jwks", "/etc/hostname"}, 2, "not a JSON Web Key Set"},
		{[]string{"setup-help", "extra"}, 2, "unexpected argument"},
		{[]string{"nope"}, 2, "unknown command \"nope\": want setup-help"},
		{nil, 2, "missing command: want setup-help"},
	} {
		r := run(c.args...)
		if r.Code != c.code || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d saying %q", c.args, r.Code, r.Stderr, c.code, c.want)
		}
	}
	if r := run("setup-help", "--help"); r.Code != 0 || !strings.Contains(r.Stdout, "Usage: gcrcred workload-identity setup-help") {
		t.Errorf("--help: exit %d, %q", r.Code, r.Stdout)
	}
}

// BenchmarkGetCredentialsPerPodWarm times the whole process for a pod whose
// service account's token is in gcrcred's disk cache (start-up, decode,
// configuration and token claims read, cache read, encode): what a kubelet
// cache miss costs with per-pod identity.
func BenchmarkGetCredentialsPerPodWarm(b *testing.B) {
	g := testbin.Google(b)
	iss, err := fakegoogle.NewTokenIssuer("https://kubernetes.default.svc.cluster.local")
	if err != nil {
		b.Fatal(err)
	}
	aud, err := g.AddOIDCProvider(fakegoogle.OIDCProvider{Issuer: iss.URL, JWKS: iss.JWKS()})
	if err != nil {
		b.Fatal(err)
	}
	config, err := g.WriteWorkloadIdentityConfig(b.TempDir(), "wi", aud, "")
	if err != nil {
		b.Fatal(err)
	}
	gsa := g.AddServiceAccount("bench")
	g.GrantWorkloadIdentityUser(gsa, fakegoogle.KubernetesPrincipal("k8s", "a", "puller"))
	tok, err := iss.ServiceAccountToken(fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller", UID: fakegoogle.NewUID(), Audiences: []string{aud}})
	if err != nil {
		b.Fatal(err)
	}
	benchGetCredentials(b, testbin.Env(b, "GCRCRED_WORKLOAD_IDENTITY="+config), saRequest(tok, gsa))
	if n := g.Count("sts"); n != 1 {
		b.Fatalf("%d STS requests: the warm path should make none", n)
	}
}

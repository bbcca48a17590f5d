package provider_test

// Per-pod identity, process level: the built binary answers requests that
// carry a pod's service-account token with a token for that pod's own
// identity, minted through the fake STS (which verifies the token against
// the test issuer's keys) and the fake IAM (which enforces grants).

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/internal/kubeletapi"
	"github.com/gcrcred/gcrcred/provider"
	"github.com/gcrcred/gcrcred/test/fakegoogle"
	"github.com/gcrcred/gcrcred/test/testbin"
)

const (
	annotationKey = "iam.gke.io/gcp-service-account"
	enableKey     = "iam.gke.io/enable-wi-image-pull"
)

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
	return testbin.InEnv(t, append([]string{"GCRCRED_WORKLOAD_IDENTITY=" + w.config, "GCRCRED_TIMEOUT=2s"}, extra...)...)
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
	if gsa == "" {
		return saRequestWith(token, nil)
	}
	return saRequestWith(token, map[string]string{annotationKey: gsa})
}

// optedIn are the annotations of a service account that pulls as its own
// principal in annotated mode.
var optedIn = map[string]string{enableKey: "true"}

// saRequestWith is a v1 request for gcr.io/p/i carrying a service-account
// token and the annotations the kubelet passes.
func saRequestWith(token string, annotations map[string]string) []byte {
	req := map[string]any{"apiVersion": kubeletapi.APIVersionV1, "kind": "CredentialProviderRequest",
		"image": "gcr.io/p/i", "serviceAccountToken": token}
	if annotations != nil {
		req["serviceAccountAnnotations"] = annotations
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

// TestGetCredentialsPerPodIdentity: in the default annotated mode two
// service accounts get two different tokens, each for the Google service
// account its annotation names; one opted in with
// iam.gke.io/enable-wi-image-pull gets its own principal's token; a second
// pod of an account is answered from the disk cache; the answer is what
// the kubelet accepts for cacheType ServiceAccount.
func TestGetCredentialsPerPodIdentity(t *testing.T) {
	w := newPodWorld(t)
	env := w.env(t)
	uidA := fakegoogle.NewUID()
	tokA := w.token(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller", UID: uidA, PodName: "a-1"})
	tokB := w.token(t, fakegoogle.ServiceAccountClaims{Namespace: "b", Name: "puller", PodName: "b-1"})
	tokC := w.token(t, fakegoogle.ServiceAccountClaims{Namespace: "c", Name: "plain"})

	respA := decodeResponse(t, getCredentials(t, env, saRequest(tokA, w.gsaA)))
	respB := decodeResponse(t, getCredentials(t, env, saRequest(tokB, w.gsaB)))
	respC := decodeResponse(t, getCredentials(t, env, saRequestWith(tokC, optedIn)))
	a, b, c := respA.Auth["gcr.io"], respB.Auth["gcr.io"], respC.Auth["gcr.io"]
	if a.Username != "oauth2accesstoken" || w.g.TokenSubject(a.Password) != w.gsaA || !w.g.Valid(a.Password) {
		t.Fatalf("a/puller got a token for %q", w.g.TokenSubject(a.Password))
	}
	if w.g.TokenSubject(b.Password) != w.gsaB || a.Password == b.Password {
		t.Fatalf("b/puller got a token for %q", w.g.TokenSubject(b.Password))
	}
	if got := w.g.TokenSubject(c.Password); got != fakegoogle.KubernetesPrincipal("k8s", "c", "plain") {
		t.Fatalf("c/plain (opted in) got a token for %q, want its principal", got)
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
	testbin.MustFailForKubelet(t, r, "service account a/puller")
}

// TestGetCredentialsRequireServiceAccount: under --require-service-account
// a request without a token is refused, without asking Google; without it,
// such a request gets the node's credentials.
func TestGetCredentialsRequireServiceAccount(t *testing.T) {
	w := newPodWorld(t)
	key, email, err := w.g.WriteServiceAccountKey(t.TempDir(), "node")
	must(t, err)
	plain := testbin.KubeletRequest(kubeletapi.APIVersionV1, "gcr.io/p/i")

	r := getCredentials(t, w.env(t, "GCRCRED_REQUIRE_SERVICE_ACCOUNT=true", "GCRCRED_CREDENTIALS="+key), plain)
	testbin.MustFailForKubelet(t, r, "the request carries no service-account token")
	r = getCredentials(t, w.env(t, "GCRCRED_CREDENTIALS="+key), plain, "--require-service-account")
	testbin.MustFailForKubelet(t, r, "answers only with a pod's own identity")
	if n := w.g.Count("token") + w.g.Count("sts"); n != 0 {
		t.Fatalf("%d requests to Google for a refused request", n)
	}

	resp := decodeResponse(t, getCredentials(t, w.env(t, "GCRCRED_CREDENTIALS="+key), plain))
	if w.g.TokenSubject(resp.Auth["gcr.io"].Password) != email {
		t.Fatalf("without a token and without require: not the node's key")
	}

	r = getCredentials(t, testbin.InEnv(t, "GCRCRED_REQUIRE_SERVICE_ACCOUNT=true"), plain)
	testbin.MustFailForKubelet(t, r, "GCRCRED_REQUIRE_SERVICE_ACCOUNT is set but GCRCRED_WORKLOAD_IDENTITY is not")
	r = getCredentials(t, w.env(t, "GCRCRED_REQUIRE_SERVICE_ACCOUNT=maybe"), plain)
	testbin.MustFailForKubelet(t, r, `GCRCRED_REQUIRE_SERVICE_ACCOUNT="maybe" is neither true nor false`)
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
	testbin.MustFailForKubelet(t, bad, "not a Kubernetes service-account token")
	noSecret(t, bad.Stderr, "not-a-jwt-but-secret-text")
}

// TestGetCredentialsPerPodBadConfiguration: a broken configuration file is
// named, as is the field at fault.
func TestGetCredentialsPerPodBadConfiguration(t *testing.T) {
	w := newPodWorld(t)
	key, _, err := w.g.WriteServiceAccountKey(t.TempDir(), "not-a-federation-file")
	must(t, err)
	tok := w.token(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller"})
	r := getCredentials(t, testbin.InEnv(t, "GCRCRED_WORKLOAD_IDENTITY="+key), saRequest(tok, ""))
	testbin.MustFailForKubelet(t, r, `workload identity configuration `+key+`: type is "service_account", want external_account`)
	missing := filepath.Join(t.TempDir(), "gone.json")
	r = getCredentials(t, testbin.InEnv(t), saRequest(tok, ""), "--workload-identity", missing)
	testbin.MustFailForKubelet(t, r, missing)
}

func TestKubeletConfigPerPodIdentity(t *testing.T) {
	w := newPodWorld(t)
	run := func(args ...string) result {
		return runCommand(t, provider.KubeletConfigCommand(), testbin.InEnv(t), nil, args...)
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

// TestWorkloadIdentitySetupHelp: the default recipe (a pool per cluster)
// and the shared-pool recipe (a provider per cluster, its tokens held to
// the cluster's issuer, subjects and namespaces prefixed with its name)
// enable the APIs, map the namespace, grant for impersonation and for
// direct access, including the gcr.io repositories, check the project
// number, and configure the nodes in annotated mode with the same subject
// mapping as the provider; a JWKS Google cannot use is refused.
func TestWorkloadIdentitySetupHelp(t *testing.T) {
	run := func(args ...string) result {
		return runCommand(t, provider.WorkloadIdentityCommand(), testbin.InEnv(t), nil, args...)
	}
	common := []string{
		"gcloud services enable iam.googleapis.com sts.googleapis.com iamcredentials.googleapis.com \\\n    artifactregistry.googleapis.com",
		`case "$PROJECT_NUMBER" in ''|*[!0-9]*) echo`,
		`POOL_NAME="projects/$PROJECT_NUMBER/locations/global/workloadIdentityPools/$POOL"`,
		"gcloud iam workload-identity-pools providers create-oidc \"$PROVIDER\"",
		`--attribute-mapping="google.subject=$SUBJECT_MAPPING,attribute.namespace=$NAMESPACE_MAPPING,attribute.service_account_name=assertion['kubernetes.io']['serviceaccount']['name']"`,
		`--role=roles/iam.workloadIdentityUser --member="$PRINCIPAL"      # or "$NAMESPACE_SET"`,
		`kubectl annotate serviceaccount -n "$NAMESPACE" "$NAME" iam.gke.io/gcp-service-account="$GSA"`,
		`kubectl annotate serviceaccount -n "$NAMESPACE" "$NAME" iam.gke.io/enable-wi-image-pull=true`,
		`--location="$LOCATION" --role=roles/artifactregistry.reader --member="serviceAccount:$GSA"`,
		`--location="$LOCATION" --role=roles/artifactregistry.reader --member="$PRINCIPAL"`,
		"repository gcr.io in location us, eu.gcr.io in europe, asia.gcr.io in asia",
		"add-iam-policy-binding gcr.io --project=\"$PROJECT_ID\" \\\n#       --location=us",
		"gcloud iam workload-identity-pools create-cred-config \"$PROVIDER_NAME\"",
		"--service-account-audience \"$AUDIENCE\" --pod-identity annotated \\\n    --subject-mapping \"$SUBJECT_MAPPING\"",
		"metadata: {name: gcrcred-service-account-audience}",
		"verbs: [request-serviceaccounts-token-audience]",
		"Kubelet 1.35+ (1.34 with\n#    the KubeletEnsureSecretPulledImages feature gate)",
		"kubectl get --raw /.well-known/openid-configuration",
		"kubectl get --raw /openid/v1/jwks > cluster-jwks.json",
	}
	recipes := []struct {
		name      string
		args      []string
		want, not []string
	}{
		{"pool per cluster", nil, []string{
			"CLUSTER=my-cluster\n",
			"POOL=\"$CLUSTER\" PROVIDER=kubernetes\n",
			"SUBJECT_MAPPING=assertion.sub ",
			`NAMESPACE_MAPPING="assertion['kubernetes.io']['namespace']"`,
			`PRINCIPAL="principal://iam.googleapis.com/$POOL_NAME/subject/system:serviceaccount:$NAMESPACE:$NAME"`,
			`NAMESPACE_SET="principalSet://iam.googleapis.com/$POOL_NAME/attribute.namespace/$NAMESPACE"`,
			`#   SUBJECT_MAPPING="assertion['kubernetes.io']['namespace']+':'+assertion['kubernetes.io']['serviceaccount']['name']"`,
			"PROJECT_NUMBER=$(gcloud projects describe",
		}, []string{"--attribute-condition", "--allowed-audiences"}},
		{"shared pool", []string{"--shared-pool", "clusters", "--cluster", "prod-eu", "--project", "acme", "--project-number", "123456789012"}, []string{
			"CLUSTER=prod-eu\n", "PROJECT_ID=acme\n", "PROJECT_NUMBER=123456789012\n",
			"POOL=clusters PROVIDER=\"$CLUSTER\"\n",
			`SUBJECT_MAPPING="'$CLUSTER:'+assertion.sub"`,
			`NAMESPACE_MAPPING="'$CLUSTER:'+assertion['kubernetes.io']['namespace']"`,
			`--attribute-condition="assertion.iss=='$ISSUER'"`,
			`PRINCIPAL="principal://iam.googleapis.com/$POOL_NAME/subject/$CLUSTER:system:serviceaccount:$NAMESPACE:$NAME"`,
			`NAMESPACE_SET="principalSet://iam.googleapis.com/$POOL_NAME/attribute.namespace/$CLUSTER:$NAMESPACE"`,
			`#   SUBJECT_MAPPING="'$CLUSTER:'+assertion['kubernetes.io']['namespace']+':'+assertion['kubernetes.io']['serviceaccount']['name']"`,
		}, []string{"gcloud projects describe", "--allowed-audiences"}},
	}
	for _, rc := range recipes {
		r := run(append([]string{"setup-help"}, rc.args...)...)
		if r.Code != 0 {
			t.Fatalf("%s: exit %d: %s", rc.name, r.Code, r.Stderr)
		}
		for _, want := range append(common, rc.want...) {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("%s: setup-help lacks %q", rc.name, want)
			}
		}
		for _, not := range rc.not {
			if strings.Contains(r.Stdout, not) {
				t.Errorf("%s: setup-help has %q", rc.name, not)
			}
		}
		// It is a shell script: sh -n reads it without running it.
		sh := exec.Command(filepath.Join(testbin.Tools(t, "sh"), "sh"), "-n")
		sh.Stdin = strings.NewReader(r.Stdout)
		if out, err := sh.CombinedOutput(); err != nil {
			t.Errorf("%s: sh -n: %v\n%s", rc.name, err, out)
		}
	}

	dir := t.TempDir()
	jwks := filepath.Join(dir, "jwks.json")
	iss, err := fakegoogle.NewTokenIssuer("https://kubernetes.default.svc.cluster.local")
	must(t, err)
	must(t, os.WriteFile(jwks, iss.JWKS(), 0o644))
	r := run("setup-help", "--audience", "gcrcred", "--issuer", iss.URL, "--jwks", jwks)
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

	writeJWKS := func(name, keys string) string {
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, []byte(`{"keys":[`+keys+`]}`), 0o644))
		return p
	}
	rsa := `{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"}`
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"setup-help", "--issuer", "http://insecure.example"}, 2, "not an https URL"},
		{[]string{"setup-help", "--jwks", iss.URL}, 2, "--jwks"},
		{[]string{"setup-help", "--jwks", "/etc/hostname"}, 2, "not a JSON Web Key Set"},
		{[]string{"setup-help", "--jwks", writeJWKS("rs384.json", rsa+`,{"kty":"RSA","kid":"k2","alg":"RS384","n":"AQAB","e":"AQAB"}`)}, 2, `key "k2" is RSA RS384, and Google's STS accepts only RS256 (RSA) and ES256 (P-256) tokens`},
		{[]string{"setup-help", "--jwks", writeJWKS("p384.json", `{"kty":"EC","kid":"e","crv":"P-384","x":"AA","y":"AA"}`)}, 2, `key "e" is EC P-384`},
		{[]string{"setup-help", "--jwks", writeJWKS("ed.json", `{"kty":"OKP","kid":"o","crv":"Ed25519","x":"AA"}`)}, 2, `key "o" is OKP Ed25519`},
		{[]string{"setup-help", "--project-number", "my-project"}, 2, `--project-number "my-project" is not a project number (digits)`},
		{[]string{"setup-help", "--cluster", "Prod_EU"}, 2, "--cluster \"Prod_EU\": Google's pool and provider ids are 4 to 32"},
		{[]string{"setup-help", "--shared-pool", "gcp-x"}, 2, "not starting with gcp-"},
		{[]string{"setup-help", "extra"}, 2, "unexpected argument"},
		{[]string{"nope"}, 2, "unknown command \"nope\": want setup-help"},
		{nil, 2, "missing command: want setup-help"},
	} {
		r := run(c.args...)
		if r.Code != c.code || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d saying %q", c.args, r.Code, r.Stderr, c.code, c.want)
		}
	}
	if r := run("setup-help", "--jwks", writeJWKS("good.json", rsa+`,{"kty":"EC","kid":"e","alg":"ES256","crv":"P-256","x":"AA","y":"AA"}`)); r.Code != 0 {
		t.Errorf("RS256 and ES256 keys refused: %s", r.Stderr)
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

package provider_test

// Adopting per-pod identity one service account at a time, and Google's
// rules checked before the call, through the built binary.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/provider"
	"github.com/gcrcred/gcrcred/test/fakegoogle"
	"github.com/gcrcred/gcrcred/test/testbin"
)

// TestGetCredentialsAnnotatedModeFallsBackToTheNode: by default a pod whose
// service account asks for nothing pulls with the node's key (with the
// token in the request, untouched); under --pod-identity all it pulls as
// its principal; under --require-service-account it is refused, naming the
// account and the annotation, without a request to Google.
func TestGetCredentialsAnnotatedModeFallsBackToTheNode(t *testing.T) {
	w := newPodWorld(t)
	key, email, err := w.g.WriteServiceAccountKey(t.TempDir(), "node")
	must(t, err)
	tok := w.token(t, fakegoogle.ServiceAccountClaims{Namespace: "kube-system", Name: "coredns"})

	resp := decodeResponse(t, getCredentials(t, w.env(t, "GCRCRED_CREDENTIALS="+key), saRequest(tok, "")))
	if got := w.g.TokenSubject(resp.Auth["gcr.io"].Password); got != email || w.g.Count("sts") != 0 {
		t.Fatalf("an unannotated account pulls as %q (sts %d); want the node's key %s and no exchange", got, w.g.Count("sts"), email)
	}
	resp = decodeResponse(t, getCredentials(t, w.env(t, "GCRCRED_CREDENTIALS="+key, "GCRCRED_POD_IDENTITY=all"), saRequest(tok, "")))
	if got := w.g.TokenSubject(resp.Auth["gcr.io"].Password); got != fakegoogle.KubernetesPrincipal("k8s", "kube-system", "coredns") {
		t.Fatalf("in all mode an unannotated account pulls as %q; want its principal", got)
	}
	resp = decodeResponse(t, getCredentials(t, w.env(t, "GCRCRED_CREDENTIALS="+key), saRequest(tok, ""), "--pod-identity", "all"))
	if got := w.g.TokenSubject(resp.Auth["gcr.io"].Password); got != fakegoogle.KubernetesPrincipal("k8s", "kube-system", "coredns") {
		t.Fatalf("with --pod-identity all an unannotated account pulls as %q; want its principal", got)
	}

	w.g.ResetCounts()
	r := getCredentials(t, w.env(t, "GCRCRED_CREDENTIALS="+key, "GCRCRED_REQUIRE_SERVICE_ACCOUNT=true"), saRequest(tok, ""))
	testbin.MustFailForKubelet(t, r, "service account kube-system/coredns has no iam.gke.io/gcp-service-account annotation nor iam.gke.io/enable-wi-image-pull=true")
	if !strings.Contains(r.Stderr, "kubectl annotate serviceaccount -n kube-system coredns iam.gke.io/enable-wi-image-pull=true") {
		t.Errorf("the refusal does not say how to opt in:\n%s", r.Stderr)
	}
	if n := w.g.Count("token") + w.g.Count("sts"); n != 0 {
		t.Fatalf("%d requests to Google for a refused request", n)
	}
	noSecret(t, r.Stderr, tok)

	testbin.MustFailForKubelet(t, getCredentials(t, w.env(t, "GCRCRED_POD_IDENTITY=some"), saRequest(tok, "")), `mode "some" is neither annotated nor all`)
	testbin.MustFailForKubelet(t, getCredentials(t, w.env(t), saRequestWith(tok, map[string]string{enableKey: "yes"})), `iam.gke.io/enable-wi-image-pull annotation is "yes"`)
}

// TestGetCredentialsGooglesRulesBeforeTheCall: a subject over 127 bytes
// after the mapping the plugin was told (GCRCRED_SUBJECT_MAPPING) fails
// in one line without a request.
func TestGetCredentialsGooglesRulesBeforeTheCall(t *testing.T) {
	w := newPodWorld(t)
	long := w.token(t, fakegoogle.ServiceAccountClaims{Namespace: "team-a", Name: strings.Repeat("n", 100)})
	r := getCredentials(t, w.env(t, "GCRCRED_SUBJECT_MAPPING='cluster-a:'+assertion.sub"), saRequestWith(long, optedIn))
	testbin.MustFailForKubelet(t, r, "is 139 bytes, and Google's STS refuses more than 127")
	if w.g.Count("sts") != 0 {
		t.Fatalf("%d STS requests for a subject Google refuses", w.g.Count("sts"))
	}
	testbin.MustFailForKubelet(t, getCredentials(t, w.env(t, "GCRCRED_SUBJECT_MAPPING=assertion.email"), saRequestWith(long, optedIn)), "assertion.email is not a claim gcrcred reads")
}

// TestGetCredentialsPodAnswersBounded: a service-account token with 12
// minutes left gets a cacheDuration that ends before it does, as the pod's
// principal and impersonating; an hour is the most the kubelet may cache
// any pod's answer, whatever lifetime Google gave the token.
func TestGetCredentialsPodAnswersBounded(t *testing.T) {
	w := newPodWorld(t)
	late := fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller", IssuedAt: time.Now().Add(-48 * time.Minute)}
	for _, req := range [][]byte{saRequestWith(w.token(t, late), optedIn), saRequest(w.token(t, late), w.gsaA)} {
		resp := decodeResponse(t, getCredentials(t, w.env(t), req))
		if d := resp.CacheDuration; d == nil || d.Duration > 7*time.Minute || d.Duration < 6*time.Minute {
			t.Errorf("cacheDuration %v for a service-account token with 12 minutes left; want 12m - 5m", d)
		}
	}
	// Impersonated tokens of 12 hours (token_lifetime_seconds 43200), from
	// a service-account token of a day.
	w.g.SetTokenLifetime(12 * time.Hour)
	long, err := json.Marshal(map[string]any{"type": "external_account", "audience": w.audience,
		"subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "token_url": w.g.URL + "/v1/token",
		"service_account_impersonation": map[string]int{"token_lifetime_seconds": 43200}})
	must(t, err)
	config := filepath.Join(t.TempDir(), "wi-12h.json")
	must(t, os.WriteFile(config, long, 0o600))
	day := fakegoogle.ServiceAccountClaims{Namespace: "b", Name: "puller", Lifetime: 24 * time.Hour}
	resp := decodeResponse(t, getCredentials(t, w.env(t, "GCRCRED_WORKLOAD_IDENTITY="+config), saRequest(w.token(t, day), w.gsaB)))
	if d := resp.CacheDuration; d == nil || d.Duration > time.Hour {
		t.Errorf("cacheDuration %v for a 12-hour token; want at most an hour", d)
	}
}

// TestKubeletConfigPodIdentityModes: the mode and the subject mapping
// reach the plugin's env, both annotation keys reach the kubelet's
// optional keys, and what is likely a mistake is warned about.
func TestKubeletConfigPodIdentityModes(t *testing.T) {
	w := newPodWorld(t)
	run := func(args ...string) result {
		return runCommand(t, provider.KubeletConfigCommand(), testbin.InEnv(t), nil, append([]string{"--workload-identity", w.config}, args...)...)
	}
	r := run("--service-account-audience", w.audience)
	for _, want := range []string{
		"    optionalServiceAccountAnnotationKeys:\n    - iam.gke.io/gcp-service-account\n    - iam.gke.io/enable-wi-image-pull\n",
		"  - name: GCRCRED_POD_IDENTITY\n    value: annotated\n",
	} {
		if r.Code != 0 || !strings.Contains(r.Stdout, want) {
			t.Errorf("config lacks %q (exit %d):\n%s%s", want, r.Code, r.Stdout, r.Stderr)
		}
	}
	if strings.Contains(r.Stderr, "warning") || strings.Contains(r.Stdout, "GCRCRED_SUBJECT_MAPPING") {
		t.Errorf("warned, or passed the default mapping:\n%s%s", r.Stdout, r.Stderr)
	}
	r = run("--service-account-audience", "https:"+w.audience, "--pod-identity", "all", "--subject-mapping", "'c:'+assertion.sub")
	for _, want := range []string{"  - name: GCRCRED_POD_IDENTITY\n    value: all\n", "  - name: GCRCRED_SUBJECT_MAPPING\n    value: '''c:''+assertion.sub'\n"} {
		if r.Code != 0 || !strings.Contains(r.Stdout, want) {
			t.Errorf("config lacks %q (exit %d):\n%s%s", want, r.Code, r.Stdout, r.Stderr)
		}
	}
	if strings.Contains(r.Stderr, "warning") {
		t.Errorf("the https: form of the provider's name was warned about:\n%s", r.Stderr)
	}

	defaulted, err := w.g.WriteWorkloadIdentityConfig(t.TempDir(), "wi-default", w.audience, w.gsaA)
	must(t, err)
	r = runCommand(t, provider.KubeletConfigCommand(), testbin.InEnv(t), nil, "--workload-identity", defaulted, "--service-account-audience", "gcrcred")
	for _, want := range []string{
		`gcrcred: warning: the service-account token audience "gcrcred" is not the pool provider ` + defaulted + " names",
		"--allowed-audiences",
		"gcrcred: warning: " + defaulted + " impersonates " + w.gsaA + " by default (service_account_impersonation_url), which only --pod-identity all uses",
	} {
		if r.Code != 0 || !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q (exit %d):\n%s", want, r.Code, r.Stderr)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--service-account-audience", w.audience, "--pod-identity", "some"}, `--pod-identity: per-pod identity mode "some"`},
		{[]string{"--service-account-audience", w.audience, "--subject-mapping", "assertion.sub.extract('{x}')"}, "--subject-mapping: google.subject mapping"},
	} {
		if r := run(c.args...); r.Code != 2 || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 saying %q", c.args, r.Code, r.Stderr, c.want)
		}
	}
	if r := runCommand(t, provider.KubeletConfigCommand(), testbin.InEnv(t), nil, "--pod-identity", "all"); r.Code != 2 || !strings.Contains(r.Stderr, "go together") {
		t.Errorf("--pod-identity alone: exit %d, %q", r.Code, r.Stderr)
	}
}

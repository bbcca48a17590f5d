package kubelet

// Per-pod identity through the kubelet's own plugin code: a provider config
// with tokenAttributes (what `gcrcred kubelet-config --service-account-audience
// --workload-identity` prints), service-account tokens signed by a test key
// for each pod, the fake STS trusting that key, the fake IAM enforcing grants.

import (
	"os"
	"path/filepath"
	"testing"

	kubeletconfigv1 "k8s.io/kubelet/config/v1"

	"github.com/gcrcred/gcrcred/internal/kubeletapi"
	"github.com/gcrcred/gcrcred/test/fakegoogle"
)

const (
	gsaAnnotation    = "iam.gke.io/gcp-service-account"
	enableAnnotation = "iam.gke.io/enable-wi-image-pull"
	optIn            = ",annotation=" + enableAnnotation + "=true"
)

// podIdentity is a fake Google whose pool provider trusts a test issuer,
// and the kubelet-lookup flags that sign the kubelet's token requests with
// that issuer's key.
type podIdentity struct {
	g          *fakegoogle.Google
	audience   string
	wiConfig   string
	signerArgs []string
}

func newPodIdentity(t *testing.T) *podIdentity {
	t.Helper()
	g := newGoogle(t)
	iss, err := fakegoogle.NewTokenIssuer("https://kubernetes.default.svc.cluster.local")
	if err != nil {
		t.Fatal(err)
	}
	aud, err := g.AddOIDCProvider(fakegoogle.OIDCProvider{Pool: "k8s", Provider: "cluster", Issuer: iss.URL, JWKS: iss.JWKS()})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	wi, err := g.WriteWorkloadIdentityConfig(dir, "workload-identity", aud, "")
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "sa-signing-key.pem")
	if err := os.WriteFile(key, iss.KeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return &podIdentity{g: g, audience: aud, wiConfig: wi, signerArgs: []string{"-sa-issuer", iss.URL, "-sa-key", key}}
}

// config is the generated provider config for per-pod identity.
func (p *podIdentity) config(t *testing.T, extra ...string) string {
	return kubeletConfig(t, append([]string{"--service-account-audience", p.audience, "--workload-identity", p.wiConfig,
		"--cache-dir", filepath.Join(t.TempDir(), "cache")}, extra...)...)
}

// TestKubeletPerPodIdentity: two service accounts annotated with two Google
// service accounts get two different tokens, each its own account's, and a
// third opted in with iam.gke.io/enable-wi-image-pull gets its principal's
// (the default annotated mode); the kubelet runs the
// plugin once per service account and registry and answers later pods
// (new pods, new tokens) from its cache, still keeping the accounts apart.
func TestKubeletPerPodIdentity(t *testing.T) {
	t.Parallel()
	p := newPodIdentity(t)
	gsaA, gsaB := p.g.AddServiceAccount("team-a"), p.g.AddServiceAccount("team-b")
	p.g.GrantWorkloadIdentityUser(gsaA, fakegoogle.KubernetesPrincipal("k8s", "a", "puller"))
	p.g.GrantWorkloadIdentityUser(gsaB, fakegoogle.KubernetesPrincipal("k8s", "b", "puller"))
	binDir, execs := pluginBinDir(t)
	images := []string{"gcr.io/proj/img", "us-docker.pkg.dev/proj/repo/img"}
	args := append(imageArgs(images...), "-n", "3",
		"-sa", "a/puller,uid="+fakegoogle.NewUID()+",annotation="+gsaAnnotation+"="+gsaA,
		"-sa", "b/puller,uid="+fakegoogle.NewUID()+",annotation="+gsaAnnotation+"="+gsaB,
		"-sa", "c/plain,uid="+fakegoogle.NewUID()+optIn)
	r := lookup(t, p.config(t), binDir, append(args, p.signerArgs...)...)
	if r.code != 0 {
		t.Fatalf("kubelet-lookup exit %d:\n%s", r.code, r.stderr)
	}
	// Results come per service account (in -sa order), then per image.
	accounts := []string{"a/puller", "b/puller", "c/plain"}
	want := []string{gsaA, gsaB, fakegoogle.KubernetesPrincipal("k8s", "c", "plain")}
	if len(r.out.Results) != len(accounts)*len(images) {
		t.Fatalf("%d results, want %d service accounts x %d images", len(r.out.Results), len(accounts), len(images))
	}
	passwords := map[string]string{}
	for i, res := range r.out.Results {
		sa, wantSubject := accounts[i/len(images)], want[i/len(images)]
		if !res.Found || res.Username != "oauth2accesstoken" {
			t.Fatalf("%s for %s: found=%v user %q; kubelet log:\n%s", res.Image, sa, res.Found, res.Username, firstLines(r.stderr, 20))
		}
		if got := p.g.TokenSubject(res.Password); got != wantSubject || !p.g.Valid(res.Password) {
			t.Fatalf("%s for %s: a token for %q, want %q", res.Image, sa, got, wantSubject)
		}
		if prev, ok := passwords[res.Password]; ok && prev != sa {
			t.Fatalf("%s and %s got the same token", prev, sa)
		}
		passwords[res.Password] = sa
	}
	// The kubelet's cache: one run per service account and registry over
	// three rounds of new pods. gcrcred's own cache: one mint per account.
	if n := execs(); n != 6 || r.out.Execs != n {
		t.Fatalf("plugin ran %d times (kubelet-lookup counted %d) for %d lookups; want 6", n, r.out.Execs, r.out.Lookups)
	}
	if p.g.Count("sts") != 3 || p.g.Count("iam") != 2 {
		t.Fatalf("sts %d, iam %d; want 3 and 2", p.g.Count("sts"), p.g.Count("iam"))
	}
}

// TestKubeletRequiredServiceAccountRefusesPodsWithout: under
// --require-service-account the kubelet does not even run the plugin for a
// pod without a service account; without it, such a pod gets the node's
// credentials (no token in the request).
func TestKubeletRequiredServiceAccountRefusesPodsWithout(t *testing.T) {
	t.Parallel()
	p := newPodIdentity(t)
	binDir, execs := pluginBinDir(t)
	r := lookup(t, p.config(t, "--require-service-account"), binDir, append([]string{"-image", "gcr.io/p/i", "-no-sa"}, p.signerArgs...)...)
	if r.code != 0 || r.out.Found || execs() != 0 || r.out.Execs != 0 {
		t.Fatalf("exit %d, found %v, %d plugin runs; want no credentials and no run:\n%s",
			r.code, r.out.Found, execs(), firstLines(r.stderr, 20))
	}

	key, email, err := p.g.WriteServiceAccountKey(t.TempDir(), "node")
	if err != nil {
		t.Fatal(err)
	}
	binDir, execs = pluginBinDir(t)
	r = lookup(t, p.config(t, "--credentials", key), binDir, append([]string{"-image", "gcr.io/p/i", "-no-sa"}, p.signerArgs...)...)
	if r.code != 0 || !r.out.Found || p.g.TokenSubject(r.out.Password) != email || execs() != 1 {
		t.Fatalf("without require: exit %d, found %v, token for %q, %d runs; want the node key's token:\n%s",
			r.code, r.out.Found, p.g.TokenSubject(r.out.Password), execs(), firstLines(r.stderr, 20))
	}
}

// TestKubeletAcceptsPerPodConfig: the kubelet's registration (strict
// decoding, validation of tokenAttributes) accepts the generated config,
// and the cache type gcrcred writes is the kubelet's.
func TestKubeletAcceptsPerPodConfig(t *testing.T) {
	t.Parallel()
	p := newPodIdentity(t)
	binDir, _ := pluginBinDir(t)
	for _, extra := range [][]string{nil, {"--require-service-account"}} {
		if r := lookup(t, p.config(t, extra...), binDir, "-image", "quay.io/x/y"); r.code != 0 || r.out.Found {
			t.Fatalf("kubelet refused the generated config %v (exit %d):\n%s", extra, r.code, r.stderr)
		}
	}
	if kubeletapi.CacheTypeServiceAccount != string(kubeletconfigv1.ServiceAccountServiceAccountTokenCacheType) ||
		kubeletapi.CacheTypeToken != string(kubeletconfigv1.TokenServiceAccountTokenCacheType) {
		t.Fatal("cache type names differ from the kubelet's")
	}
}

// TestKubeletAnnotatedMode: in the default annotated mode, through the
// kubelet's own plugin code, a service account without annotations gets
// the node's credentials, an annotated one its own token, and an
// annotation changed on the API server a different token at the next
// pull (the kubelet's cache is per service account and annotations), in
// both directions: opted in, and its Google service account changed.
func TestKubeletAnnotatedMode(t *testing.T) {
	t.Parallel()
	p := newPodIdentity(t)
	key, node, err := p.g.WriteServiceAccountKey(t.TempDir(), "node")
	if err != nil {
		t.Fatal(err)
	}
	gsaA, gsaA2 := p.g.AddServiceAccount("team-a"), p.g.AddServiceAccount("team-a-2")
	for _, gsa := range []string{gsaA, gsaA2} {
		p.g.GrantWorkloadIdentityUser(gsa, fakegoogle.KubernetesPrincipal("k8s", "a", "puller"))
	}
	uidA, uidD := fakegoogle.NewUID(), fakegoogle.NewUID()
	binDir, execs := pluginBinDir(t)
	args := append([]string{"-image", "gcr.io/proj/img", "-n", "3",
		"-sa", "a/puller,uid=" + uidA + ",annotation=" + gsaAnnotation + "=" + gsaA,
		"-sa", "d/plain,uid=" + uidD,
		"-then-sa", "a/puller,uid=" + uidA + ",annotation=" + gsaAnnotation + "=" + gsaA2,
		"-then-sa", "d/plain,uid=" + uidD + optIn}, p.signerArgs...)
	r := lookup(t, p.config(t, "--credentials", key), binDir, args...)
	if r.code != 0 || len(r.out.FirstResults) != 2 || len(r.out.Results) != 2 {
		t.Fatalf("kubelet-lookup exit %d, %d first and %d last results:\n%s", r.code, len(r.out.FirstResults), len(r.out.Results), firstLines(r.stderr, 20))
	}
	subject := func(res lookupResult) string { return p.g.TokenSubject(res.Password) }
	for _, c := range []struct {
		what     string
		got      string
		want     string
		password string
	}{
		{"a/puller annotated " + gsaA, subject(r.out.FirstResults[0]), gsaA, r.out.FirstResults[0].Password},
		{"d/plain unannotated", subject(r.out.FirstResults[1]), node, r.out.FirstResults[1].Password},
		{"a/puller annotated " + gsaA2 + " since", subject(r.out.Results[0]), gsaA2, r.out.Results[0].Password},
		{"d/plain opted in since", subject(r.out.Results[1]), fakegoogle.KubernetesPrincipal("k8s", "d", "plain"), r.out.Results[1].Password},
	} {
		if c.got != c.want {
			t.Errorf("%s pulls as %q, want %q", c.what, c.got, c.want)
		}
	}
	if r.out.FirstResults[0].Password == r.out.Results[0].Password || r.out.FirstResults[1].Password == r.out.Results[1].Password {
		t.Error("a changed annotation got the token cached for the old one")
	}
	// Two service accounts, each with two sets of annotations: four runs of
	// the plugin over three rounds; the third is the kubelet's cache.
	if n := execs(); n != 4 {
		t.Errorf("plugin ran %d times, want 4", n)
	}
}

// TestKubeletAllMode: under --pod-identity all, today's behaviour: a
// service account without annotations pulls as its principal, not with
// the node's key.
func TestKubeletAllMode(t *testing.T) {
	t.Parallel()
	p := newPodIdentity(t)
	key, _, err := p.g.WriteServiceAccountKey(t.TempDir(), "node")
	if err != nil {
		t.Fatal(err)
	}
	binDir, _ := pluginBinDir(t)
	r := lookup(t, p.config(t, "--credentials", key, "--pod-identity", "all"), binDir,
		append([]string{"-image", "gcr.io/proj/img", "-sa", "d/plain"}, p.signerArgs...)...)
	if got := p.g.TokenSubject(r.out.Password); r.code != 0 || got != fakegoogle.KubernetesPrincipal("k8s", "d", "plain") {
		t.Fatalf("exit %d: d/plain pulls as %q, want its principal:\n%s", r.code, got, firstLines(r.stderr, 20))
	}
}

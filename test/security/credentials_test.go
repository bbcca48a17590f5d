package security

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/internal/endpoint"
	"github.com/gcrcred/gcrcred/test/fakegoogle"
	"github.com/gcrcred/gcrcred/test/fakeminikube/fakecluster"
	"github.com/gcrcred/gcrcred/test/testbin"
)

func TestMain(m *testing.M) { fakecluster.Main(m) }

// intruder is the second, unprivileged user who hands root a file: the
// credentials attacks are files another user wrote.
const intruder = 65532

const rootSecret = "root-only-secret-of-the-node"

// credsWorld is a fake Google, a foreign listener (127.0.0.2: loopback,
// yet no endpoint the rule allows, even under the test switch), a file
// only root may read, and a directory of the intruder's.
type credsWorld struct {
	g       *fakegoogle.Google
	foreign *testbin.Foreign
	secret  string
	theirs  string
}

func newCredsWorld(t *testing.T) *credsWorld {
	t.Helper()
	testbin.NeedRoot(t)
	w := &credsWorld{g: testbin.Google(t), foreign: testbin.NewForeign(t)}
	private := t.TempDir()
	w.secret = filepath.Join(private, "secret")
	writeAs(t, w.secret, []byte(rootSecret), 0, 0o600)
	w.theirs = filepath.Join(t.TempDir(), "theirs")
	mkdirAs(t, w.theirs, intruder, 0o755)
	return w
}

// plant writes v as the intruder's file name and returns its path.
func (w *credsWorld) plant(t *testing.T, name string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err)
	p := filepath.Join(w.theirs, name)
	writeAs(t, p, b, intruder, 0o644)
	return p
}

// nothingSent fails the test if the foreign listener got any request.
func (w *credsWorld) nothingSent(t *testing.T, what string) {
	t.Helper()
	if got := w.foreign.Requests(); len(got) > 0 {
		leaked := strings.Contains(strings.Join(got, "\n"), rootSecret)
		t.Errorf("%s: the foreign host got %d request(s) (root's secret among them: %v): %q", what, len(got), leaked, got[0])
	}
}

// refused fails the test unless r failed and said each of want.
func refused(t *testing.T, what string, r testbin.Result, want ...string) {
	t.Helper()
	out := r.Stdout + r.Stderr
	if r.Code == 0 {
		t.Errorf("%s: accepted (exit 0):\n%s", what, out)
		return
	}
	for _, s := range want {
		if !strings.Contains(out, s) {
			t.Errorf("%s: exit %d, but the error does not say %q:\n%s", what, r.Code, s, out)
		}
	}
}

const pool = "//iam.googleapis.com/projects/" + fakegoogle.ProjectNumber + "/locations/global/workloadIdentityPools/p/providers/k"

func kubeletRequest(extra map[string]any) []byte {
	m := map[string]any{"apiVersion": "credentialprovider.kubelet.k8s.io/v1", "kind": "CredentialProviderRequest", "image": "gcr.io/p/i"}
	for k, v := range extra {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return b
}

// nodeInstall runs `gcrcred node install` on a fresh node root and checks
// it was refused with want, changing nothing on the node.
func nodeInstall(t *testing.T, want []string, args ...string) {
	t.Helper()
	n := fakecluster.NewNode(t, "kubeadm")
	before := n.Tree()
	r := testbin.Run(t, testbin.Env(t), nil, "gcrcred", append([]string{"node", "install", "--root", n.Root, "--kubelet-settle", "0s"}, args...)...)
	refused(t, "node install "+strings.Join(args, " "), r, want...)
	if d := fakecluster.Diff(before, n.Tree()); len(d) > 0 {
		t.Errorf("the refused install changed the node:\n  %s", strings.Join(d, "\n  "))
	}
}

// A federation file naming a root-only file as its subject token and a
// token_url of someone else's: the Docker helper, the kubelet's plugin and
// `node install` refuse it before reading or sending anything. With
// Google's own token_url, a node still refuses a subject token from a file
// or a URL: root would send it for every pull.
func TestCredentialSourceFileToAForeignHost(t *testing.T) {
	w := newCredsWorld(t)
	evil := w.plant(t, "evil.json", map[string]any{
		"type": "external_account", "audience": pool, "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
		"token_url":         w.foreign.URL + "/v1/token",
		"credential_source": map[string]any{"file": w.secret, "format": map[string]string{"type": "text"}},
	})
	host := strings.TrimPrefix(w.foreign.URL, "http://")
	rule := []string{"token_url", "host " + host, "Google endpoint rule"}
	env := testbin.Env(t, "GCRCRED_CREDENTIALS="+evil)

	r := testbin.Run(t, env, []byte("gcr.io"), "docker-credential-gcrcred", "get")
	refused(t, "the Docker helper", r, append(rule, evil)...)
	r = testbin.Run(t, env, kubeletRequest(nil), "gcrcred", "get-credentials")
	refused(t, "get-credentials", r, append(rule, evil)...)
	nodeInstall(t, append(rule, evil), "--credentials", evil)
	w.nothingSent(t, "a federation file with a foreign token_url")

	// Google's token_url (the fake, under the test switch): the file
	// source alone is what a node refuses, and nothing reaches STS.
	for _, source := range []map[string]any{
		{"file": w.secret},
		{"url": w.foreign.URL + "/subject-token"},
	} {
		kind := "file"
		if source["url"] != nil {
			kind = "url"
		}
		google := w.plant(t, "google-"+kind+".json", map[string]any{
			"type": "external_account", "audience": pool, "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
			"token_url": w.g.URL + "/sts", "credential_source": source,
		})
		want := []string{"credential_source." + kind, "credentials on a node"}
		r = testbin.Run(t, testbin.Env(t, "GCRCRED_CREDENTIALS="+google), kubeletRequest(nil), "gcrcred", "get-credentials")
		refused(t, "get-credentials, a subject token from a "+kind, r, want...)
		nodeInstall(t, want, "--credentials", google)
	}
	if n := w.g.Count("sts"); n != 0 {
		t.Errorf("%d STS requests from node paths that read a subject token from a file or URL", n)
	}
	w.nothingSent(t, "node paths with a subject token URL")
}

// The workload identity configuration decides where every pod's
// service-account token goes: a foreign token_url or
// service_account_impersonation_url is refused by kubelet-config, node
// install and get-credentials, and nothing reaches the foreign host.
func TestWorkloadIdentityToAForeignHost(t *testing.T) {
	w := newCredsWorld(t)
	iss, err := fakegoogle.NewTokenIssuer("https://kubernetes.default.svc.cluster.local")
	must(t, err)
	aud, err := w.g.AddOIDCProvider(fakegoogle.OIDCProvider{Pool: "k8s", Provider: "cluster", Issuer: iss.URL, JWKS: iss.JWKS()})
	must(t, err)
	sa, err := iss.ServiceAccountToken(fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller", UID: fakegoogle.NewUID(), Audiences: []string{aud}})
	must(t, err)
	base := map[string]any{"type": "external_account", "audience": aud, "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
		"token_url": w.g.URL + "/v1/token", "credential_source": map[string]any{"file": "/var/run/service-account/token"}}
	with := func(k, v string) map[string]any {
		m := map[string]any{}
		for a, b := range base {
			m[a] = b
		}
		m[k] = v
		return m
	}
	_, key, _ := testbin.GoogleWithKey(t, "node")
	for _, c := range []struct{ field, value string }{
		{"token_url", w.foreign.URL + "/v1/token"},
		{"service_account_impersonation_url", w.foreign.URL + "/v1/projects/-/serviceAccounts/sa@p.iam.gserviceaccount.com:generateAccessToken"},
	} {
		t.Run(c.field, func(t *testing.T) {
			file := w.plant(t, "wi-"+c.field+".json", with(c.field, c.value))
			want := []string{file, c.field, "host " + strings.TrimPrefix(w.foreign.URL, "http://"), "Google endpoint rule"}

			r := testbin.Run(t, testbin.Env(t), nil, "gcrcred", "kubelet-config", "--workload-identity", file, "--service-account-audience", aud)
			refused(t, "kubelet-config", r, want...)
			nodeInstall(t, want, "--credentials", key, "--workload-identity", file, "--service-account-audience", aud)
			r = testbin.Run(t, testbin.Env(t, "GCRCRED_WORKLOAD_IDENTITY="+file), kubeletRequest(map[string]any{"serviceAccountToken": sa}), "gcrcred", "get-credentials")
			refused(t, "get-credentials for a pod", r, want...)
			w.nothingSent(t, "a workload identity file with a foreign "+c.field)
		})
	}
}

// Foreign endpoints in every other credentials type, and a universe_domain
// other than googleapis.com (with Google's own token_uri): refused by the Docker helper and the
// kubelet's plugin, with nothing sent anywhere.
func TestForeignTokenEndpoints(t *testing.T) {
	w := newCredsWorld(t)
	dir := t.TempDir()
	keyPath, _, err := w.g.WriteServiceAccountKey(dir, "sa")
	must(t, err)
	userPath, _, err := w.g.WriteAuthorizedUser(dir, "user")
	must(t, err)
	impPath, _, err := w.g.WriteImpersonated(dir, "imp")
	must(t, err)
	read := func(p string) map[string]any {
		var m map[string]any
		b, err := os.ReadFile(p)
		must(t, err)
		must(t, json.Unmarshal(b, &m))
		return m
	}
	to := w.foreign.URL + "/token"
	key, user, imp, impSource := read(keyPath), read(userPath), read(impPath), read(impPath)
	key["token_uri"] = to
	user["token_uri"] = to
	imp["service_account_impersonation_url"] = w.foreign.URL + "/v1/projects/-/serviceAccounts/sa@p.iam.gserviceaccount.com:generateAccessToken"
	impSource["source_credentials"].(map[string]any)["token_uri"] = to
	universe := read(keyPath)
	universe["universe_domain"] = "example-universe.goog"
	universe["token_uri"] = "https://oauth2.googleapis.com/token"

	for _, c := range []struct {
		name string
		file map[string]any
		want []string
	}{
		{"service-account key", key, []string{"token_uri", "host 127.0.0.2", "Google endpoint rule"}},
		{"authorized_user", user, []string{"token_uri", "host 127.0.0.2", "Google endpoint rule"}},
		{"impersonated_service_account", imp, []string{"service_account_impersonation_url", "host 127.0.0.2", "Google endpoint rule"}},
		{"impersonation's source", impSource, []string{"source_credentials.token_uri", "host 127.0.0.2", "Google endpoint rule"}},
		{"universe_domain", universe, []string{`universe_domain "example-universe.goog" is refused`, endpoint.UniverseRule}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := w.plant(t, strings.ReplaceAll(c.name, " ", "-")+".json", c.file)
			// A proxy on a closed loopback port: code that took the file
			// would fail there, never look up a Google host.
			env := testbin.Env(t, "GCRCRED_CREDENTIALS="+path, "HTTPS_PROXY=http://"+testbin.ClosedLoopbackAddr(t))
			want := append(c.want, path)
			refused(t, "the Docker helper", testbin.Run(t, env, []byte("gcr.io"), "docker-credential-gcrcred", "get"), want...)
			refused(t, "get-credentials", testbin.Run(t, env, kubeletRequest(nil), "gcrcred", "get-credentials"), want...)
		})
	}
	w.nothingSent(t, "foreign token endpoints")
	if n := w.g.Count("token") + w.g.Count("iam"); n != 0 {
		t.Errorf("%d requests reached the fake Google for refused files", n)
	}
}

// Without the test switch the fakes on 127.0.0.1 are refused, naming the
// rule; Google's own host names pass without it (here the fake, reached
// over TLS as oauth2.googleapis.com through a CONNECT proxy that only dials
// loopback); another universe's do not, even where they would answer.
func TestLoopbackOnlyUnderTheTestSwitch(t *testing.T) {
	t.Parallel()
	g, keyPath, _ := testbin.GoogleWithKey(t, "sa")
	noSwitch := func(extra ...string) []string {
		return testbin.Unset(testbin.Env(t, extra...), endpoint.EnvTestLoopback)
	}
	r := testbin.Run(t, noSwitch("GCRCRED_CREDENTIALS="+keyPath), []byte("gcr.io"), "docker-credential-gcrcred", "get")
	refused(t, "a key naming the fake, without the switch", r, "token_uri", "host "+strings.TrimPrefix(g.URL, "http://"), "loopback endpoints are for gcrcred's own tests only", endpoint.EnvTestLoopback, "Google endpoint rule")
	r = testbin.Run(t, noSwitch("GCRCRED_CREDENTIALS="+keyPath), kubeletRequest(nil), "gcrcred", "get-credentials")
	refused(t, "get-credentials without the switch", r, "Google endpoint rule")
	if n := g.Count("token"); n != 0 {
		t.Fatalf("%d token requests without the switch", n)
	}

	caFile, addr, err := g.StartTLS("oauth2.googleapis.com", "oauth2.example-universe.goog")
	must(t, err)
	proxy, closeProxy, err := fakegoogle.StartConnectProxy(addr)
	must(t, err)
	t.Cleanup(closeProxy)
	var key map[string]any
	b, _ := os.ReadFile(keyPath)
	must(t, json.Unmarshal(b, &key))
	for _, c := range []struct{ universe, tokenURI string }{
		{"googleapis.com", "https://oauth2.googleapis.com/token"},
		{"example-universe.goog", "https://oauth2.example-universe.goog/token"},
	} {
		key["universe_domain"], key["token_uri"] = c.universe, c.tokenURI
		out, _ := json.Marshal(key)
		p := filepath.Join(t.TempDir(), "key.json")
		must(t, os.WriteFile(p, out, 0o600))
		env := noSwitch("GCRCRED_CREDENTIALS="+p, "HTTPS_PROXY="+proxy, "SSL_CERT_FILE="+caFile)
		if c.universe != "googleapis.com" {
			// Only Google's default universe, even where the fake answers.
			r := testbin.Run(t, env, []byte("gcr.io"), "docker-credential-gcrcred", "get")
			refused(t, "another universe without the switch", r, p, `universe_domain "`+c.universe+`" is refused`, endpoint.UniverseRule)
			continue
		}
		if secret, r := get(t, testbin.Options{Env: env}); !g.Valid(secret) {
			t.Errorf("%s without the switch: no valid token: %s", c.tokenURI, r.Stderr)
		}
	}
	if n := g.Count("token"); n != 1 {
		t.Errorf("%d token requests, want 1 (the googleapis.com key's)", n)
	}
}

// A FIFO or an oversized file where credentials or a workload identity
// configuration are expected fails at once with a clear error, on every
// path that reads one, instead of hanging the kubelet's plugin or root's
// install.
func TestFIFOAndOversizedFiles(t *testing.T) {
	w := newCredsWorld(t)
	fifo := filepath.Join(w.theirs, "fifo.json")
	must(t, syscall.Mkfifo(fifo, 0o644))
	must(t, os.Chown(fifo, intruder, intruder))
	big := filepath.Join(w.theirs, "big.json")
	writeAs(t, big, append([]byte(`{"type":"service_account","x":"`), make([]byte, 2<<20)...), intruder, 0o644)
	_, key, _ := testbin.GoogleWithKey(t, "node")
	const aud = "gcrcred"
	for _, c := range []struct {
		file, want string
	}{{fifo, "is a named pipe (FIFO), not a regular file"}, {big, "is larger than"}} {
		for _, run := range []struct {
			what  string
			env   []string
			stdin []byte
			args  []string
		}{
			{"the Docker helper", []string{"GCRCRED_CREDENTIALS=" + c.file}, []byte("gcr.io"), []string{"docker-credential-gcrcred", "get"}},
			{"get-credentials", []string{"GCRCRED_CREDENTIALS=" + c.file}, kubeletRequest(nil), []string{"gcrcred", "get-credentials"}},
			{"get-credentials for a pod", []string{"GCRCRED_WORKLOAD_IDENTITY=" + c.file}, kubeletRequest(map[string]any{"serviceAccountToken": "a.b.c"}), []string{"gcrcred", "get-credentials"}},
			{"kubelet-config", nil, nil, []string{"gcrcred", "kubelet-config", "--workload-identity", c.file, "--service-account-audience", aud}},
			{"token", nil, nil, []string{"gcrcred", "token", "--credentials", c.file}},
		} {
			r := testbin.Run(t, testbin.Env(t, run.env...), run.stdin, run.args[0], run.args[1:]...)
			refused(t, run.what+" with "+filepath.Base(c.file), r, c.file, c.want)
			if r.Took > 5*time.Second {
				t.Errorf("%s with %s took %s", run.what, filepath.Base(c.file), r.Took)
			}
		}
		nodeInstall(t, []string{c.file, c.want}, "--credentials", c.file)
		nodeInstall(t, []string{c.file, c.want}, "--credentials", key, "--workload-identity", c.file, "--service-account-audience", aud)
	}
}

// Whoever may annotate a service account picks the name the plugin mints
// for: 40 bogus annotations (no Google service account's, or unknown to
// Google) leave no file in the node's cache, through the kubelet's plugin.
func TestBogusAnnotationsLeaveABoundedCache(t *testing.T) {
	w := newCredsWorld(t)
	iss, err := fakegoogle.NewTokenIssuer("https://kubernetes.default.svc.cluster.local")
	must(t, err)
	aud, err := w.g.AddOIDCProvider(fakegoogle.OIDCProvider{Pool: "k8s2", Provider: "cluster", Issuer: iss.URL, JWKS: iss.JWKS()})
	must(t, err)
	wi, err := w.g.WriteWorkloadIdentityConfig(t.TempDir(), "wi", aud, "")
	must(t, err)
	cache := filepath.Join(t.TempDir(), "cache")
	env := testbin.Env(t, "GCRCRED_WORKLOAD_IDENTITY="+wi, "GCRCRED_CACHE_DIR="+cache)
	sa, err := iss.ServiceAccountToken(fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller", UID: fakegoogle.NewUID(), Audiences: []string{aud}})
	must(t, err)
	pull := func(annotation string) testbin.Result {
		return testbin.Run(t, env, kubeletRequest(map[string]any{"serviceAccountToken": sa,
			"serviceAccountAnnotations": map[string]string{"iam.gke.io/gcp-service-account": annotation}}), "gcrcred", "get-credentials")
	}
	for i := 0; i < 40; i++ {
		annotation := fmt.Sprintf("ghost-%d@fake-project.iam.gserviceaccount.com", i)
		if i%2 == 0 {
			annotation = fmt.Sprintf("someone-%d@example.com", i)
		}
		if r := pull(annotation); r.Code == 0 {
			t.Fatalf("annotation %s got credentials", annotation)
		}
	}
	if n := names(t, cache); len(n) != 0 {
		t.Fatalf("40 bogus annotations left %d files in the cache: %v", len(n), n)
	}
	good := w.g.AddServiceAccount("team-a")
	w.g.GrantWorkloadIdentityUser(good, fakegoogle.KubernetesPrincipal("k8s2", "a", "puller"))
	if r := pull(good); r.Code != 0 {
		t.Fatalf("a good annotation: %s", r.Stderr)
	}
	if n := names(t, cache); len(n) != 2 {
		t.Fatalf("one good service account left %v, want its entry and lock", n)
	}
}

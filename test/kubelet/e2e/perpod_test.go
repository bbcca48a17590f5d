package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/test/fakegoogle"
	"github.com/gcrcred/gcrcred/test/kubelet/e2e/cluster"
)

// The per-pod scenario's Kubernetes and Google identities and images.
const (
	wiPool, wiProvider = "k8s", "cluster" // the workload identity pool provider trusting the cluster
	puller             = "puller"         // the service account of each team's namespace
	thief              = "thief"          // team B's account annotated with team A's Google account
	nsA, nsB, nsC      = "team-a", "team-b", "team-c"
	nsOps              = "ops" // no annotation anywhere: the node's key
	imageA             = cluster.RegistryHost + "/" + fakegoogle.ProjectID + "/team-a/app:v1"
	imageB             = cluster.RegistryHost + "/" + fakegoogle.ProjectID + "/team-b/app:v1"
	imageC             = cluster.RegistryHost + "/" + fakegoogle.ProjectID + "/team-c/app:v1"
	imageNode          = cluster.RegistryHost + "/" + fakegoogle.ProjectID + "/node/app:v1"
	gsaAnnotation      = "iam.gke.io/gcp-service-account"
	enableAnnotation   = "iam.gke.io/enable-wi-image-pull"
)

// repoOf is an image's repository in the registry.
func repoOf(image string) string {
	return strings.TrimPrefix(image[:strings.LastIndexByte(image, ':')], cluster.RegistryHost+"/")
}

// serviceAccount is a ServiceAccount manifest with annotations.
func serviceAccount(ns, name string, annotations map[string]string) string {
	var a strings.Builder
	for k, v := range annotations {
		fmt.Fprintf(&a, "    %s: %q\n", k, v)
	}
	if a.Len() > 0 {
		return fmt.Sprintf("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: %s\n  namespace: %s\n  annotations:\n%s", name, ns, a.String())
	}
	return fmt.Sprintf("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: %s\n  namespace: %s\n", name, ns)
}

// scenarioPerPodIdentity is issues 10's and 17's proof, adopted one team at
// a time (--pod-identity annotated): the kubelet gets each pod's
// service-account token from the real API server (audience AUD) and hands
// it to gcrcred, which exchanges it at the fake STS (trusting the API
// server's issuer and JWKS, mapping the namespace) for accounts that ask:
// team A's account, annotated with its Google service account, pulls
// image A by impersonation; team B's may not pull it (the registry
// refuses), nor its account annotated with team A's Google account (IAM
// refuses), nor run it from the node's image store once team A pulled it
// there (KubeletEnsureSecretPulledImages, on by default in 1.37); team C's
// account, opted in with iam.gke.io/enable-wi-image-pull, pulls by direct
// access (the repository grants its namespace); an unannotated pod of
// another namespace pulls a node-readable image with the node's key, and
// not team A's. No token in any log; the uninstall leaves the node as
// before.
func scenarioPerPodIdentity(ctx context.Context, t *testing.T, c *cluster.Cluster, d *deployer) {
	// Google trusts the cluster's service-account issuer, and maps each
	// token's namespace, as setup-help's recipe does.
	issuer, jwks := serviceAccountIssuer(ctx, t, c)
	provider, err := c.Google.AddOIDCProvider(fakegoogle.OIDCProvider{Pool: wiPool, Provider: wiProvider, Issuer: issuer, JWKS: jwks,
		AttributeMapping: map[string]string{
			"google.subject":      "assertion.sub",
			"attribute.namespace": "assertion['kubernetes.io']['namespace']",
		}})
	if err != nil {
		t.Fatal(err)
	}
	aud := "https:" + provider
	logf("fake STS: pool provider %s trusts issuer %s (its JWKS from /openid/v1/jwks), maps attribute.namespace; kubelet audience %s", provider, issuer, aud)

	// Two Google service accounts, each usable by one Kubernetes service
	// account, each the only reader of one repository; team C's repository
	// read by its namespace's principals directly; the node's key, the only
	// reader of a fourth.
	key, nodeEmail, err := c.Google.WriteServiceAccountKey(t.TempDir(), "node-key")
	if err != nil {
		t.Fatal(err)
	}
	gsa := map[string]string{nsA: c.Google.AddServiceAccount("gsa-a"), nsB: c.Google.AddServiceAccount("gsa-b")}
	namespaceSet := fakegoogle.PoolPrincipalSet(wiPool, "namespace", nsC)
	readers := map[string]string{imageA: gsa[nsA], imageB: gsa[nsB], imageC: namespaceSet, imageNode: nodeEmail}
	for image, reader := range readers {
		if err := c.PushAppImage(ctx, image); err != nil {
			t.Fatal(err)
		}
		c.Registry.Grant(repoOf(image), reader)
		logf("only %s may read %s", reader, repoOf(image))
	}
	for _, ns := range []string{nsA, nsB} {
		c.Google.GrantWorkloadIdentityUser(gsa[ns], fakegoogle.KubernetesPrincipal(wiPool, ns, puller))
	}
	accounts := []string{
		serviceAccount(nsA, puller, map[string]string{gsaAnnotation: gsa[nsA]}),
		serviceAccount(nsB, puller, map[string]string{gsaAnnotation: gsa[nsB]}),
		serviceAccount(nsB, thief, map[string]string{gsaAnnotation: gsa[nsA]}),
		serviceAccount(nsC, puller, map[string]string{enableAnnotation: "true"}),
	}
	for _, ns := range []string{nsA, nsB, nsC, nsOps} {
		if err := c.CreateNamespace(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}
	for _, sa := range accounts {
		if err := c.Apply(ctx, sa); err != nil {
			t.Fatal(err)
		}
	}
	logf("%s/%s -> %s, %s/%s -> %s, %s/%s -> %s (not granted), %s/%s opted in (%s=true), %s/default unannotated",
		nsA, puller, gsa[nsA], nsB, puller, gsa[nsB], nsB, thief, gsa[nsA], nsC, puller, enableAnnotation, nsOps)

	// The credential configuration `gcloud iam workload-identity-pools
	// create-cred-config` writes, and the node's key for the pods that ask
	// for nothing.
	wiConfig, err := c.Google.WriteWorkloadIdentityConfig(t.TempDir(), "workload-identity", provider, "")
	if err != nil {
		t.Fatal(err)
	}

	before := takeNodeState(ctx, t, c)
	logf("node before install: %d files and directories, digest %s; kubelet pid %d without provider flags",
		before.files.Files(), before.files.Digest(), before.kubeletPID)

	// The chart with per-pod identity: the key and the credential
	// configuration in its Secret, the audience in its RBAC and the
	// installer's flags, annotated mode (the default, said anyway).
	c.Google.ResetCounts()
	d.helmInstall(ctx, t, "--set-file", "credentials.json="+key, "--set-file", "podIdentity.workloadIdentity="+wiConfig,
		"--set", "podIdentity.enabled=true", "--set-literal", "podIdentity.audience="+aud, "--set", "podIdentity.mode=annotated")
	pid, _, flags := kubeletFlags(ctx, t, c)
	if len(flags) != len(providerFlags) {
		t.Fatalf("after the install, the kubelet (pid %d) runs with provider flags %v; want %d", pid, flags, len(providerFlags))
	}
	logf("kubelet pid %d runs with %s", pid, strings.Join(flags, " "))
	checkProviderConfig(t, flags, aud)
	checkNodeKey(t)

	counts := func() string {
		return fmt.Sprintf("sts=%d iam=%d token=%d; registry token-ok=%d forbidden=%d",
			c.Google.Count("sts"), c.Google.Count("iam"), c.Google.Count("token"), c.Registry.Count("token-ok"), c.Registry.Count("forbidden"))
	}
	// run applies a pod and waits for it to run, or to fail pulling.
	run := func(ns, name, sa, image string, ifNotPresent, ok bool) {
		t.Helper()
		manifest := appPod(ns, name, sa, image)
		if ifNotPresent {
			manifest = strings.Replace(manifest, "imagePullPolicy: Always", "imagePullPolicy: IfNotPresent", 1)
		}
		if err := c.Apply(ctx, manifest); err != nil {
			t.Fatal(err)
		}
		what, cond := "to run", running
		if !ok {
			what, cond = "to fail pulling", pullFailed
		}
		pod, err := c.WaitPod(ctx, ns, name, 2*time.Minute, what, cond)
		if err != nil {
			t.Fatal(err)
		}
		logf("%s/%s (service account %s, image %s): %s; %s", ns, name, sa, image, cluster.PodState(pod), counts())
	}
	type snapshot struct{ sts, iam, token, forbidden int64 }
	snap := func() snapshot {
		return snapshot{c.Google.Count("sts"), c.Google.Count("iam"), c.Google.Count("token"), c.Registry.Count("forbidden")}
	}

	// Team A pulls team A's image, as gsa-a.
	s0 := snap()
	run(nsA, "app-a", puller, imageA, false, true)
	if s1 := snap(); s1.sts == s0.sts || s1.iam == s0.iam {
		t.Errorf("team A's pull went through no STS exchange or impersonation: %s", counts())
	}

	// Team B may not pull team A's image...
	s0 = snap()
	run(nsB, "steal-a", puller, imageA, false, false)
	if snap().forbidden == s0.forbidden {
		t.Errorf("the registry refused team B no read of %s: %s", imageA, counts())
	}
	// ...nor with an account annotated with team A's Google account: IAM
	// refuses the impersonation, and nothing is minted for it.
	s0, mintedA := snap(), minted(c)[gsa[nsA]]
	run(nsB, "thief-a", thief, imageA, false, false)
	if s1 := snap(); s1.iam == s0.iam || minted(c)[gsa[nsA]] != mintedA {
		t.Errorf("%s/%s annotated %s: IAM asked %d time(s), %s minted %d more; want IAM asked and none minted",
			nsB, thief, gsa[nsA], s1.iam-s0.iam, gsa[nsA], minted(c)[gsa[nsA]]-mintedA)
	}
	// ...nor run it from the node's image store, where team A's pull left
	// it: the kubelet (KubeletEnsureSecretPulledImages, on by default since
	// 1.35) checks that this pod's credentials may pull it, and they may not.
	s0 = snap()
	run(nsB, "steal-a-cached", puller, imageA, true, false)
	if snap().forbidden == s0.forbidden {
		t.Errorf("the kubelet did not check team B's credentials for the cached %s with the registry (forbidden +0)", imageA)
	}
	// ...and pulls its own.
	run(nsB, "app-b", puller, imageB, false, true)

	// Team C, opted in, pulls as its own principal: an exchange, no
	// impersonation, the repository granting its namespace.
	s0 = snap()
	run(nsC, "app-c", puller, imageC, false, true)
	if s1 := snap(); s1.sts == s0.sts || s1.iam != s0.iam {
		t.Errorf("team C's pull: STS +%d, IAM +%d; want an exchange and no impersonation", s1.sts-s0.sts, s1.iam-s0.iam)
	}

	// An unannotated account pulls with the node's key, asking STS nothing;
	// the key reads what it was granted, not team A's image.
	s0 = snap()
	run(nsOps, "app-node", "", imageNode, false, true)
	if s1 := snap(); s1.sts != s0.sts || s1.token == s0.token {
		t.Errorf("%s/default: STS +%d, token endpoint +%d; want no exchange and the node's key minted", nsOps, s1.sts-s0.sts, s1.token-s0.token)
	}
	run(nsOps, "steal-a", "", imageA, false, false)

	// The API server's tokens reached STS for the accounts that asked (not
	// ops/default), each impersonated pull was made as its own Google
	// service account, and no log holds any of those tokens.
	checkExchanges(t, c, aud,
		[]string{fakegoogle.KubernetesSubject(nsA, puller), fakegoogle.KubernetesSubject(nsB, puller), fakegoogle.KubernetesSubject(nsB, thief), fakegoogle.KubernetesSubject(nsC, puller)},
		[]string{fakegoogle.KubernetesSubject(nsOps, "default")},
		[]string{gsa[nsA], gsa[nsB]})
	checkNoSecretsInLogs(t, c)

	// The chart's uninstall, which takes the audience's RBAC with it.
	d.helmUninstall(ctx, t)
	checkNodeRestored(ctx, t, c, before)
	for _, ns := range []string{nsA, nsB, nsC, nsOps} {
		if _, err := c.Kubectl(ctx, "delete", "namespace", ns, "--wait=false"); err != nil {
			t.Error(err)
		}
	}
}

// minted counts the access tokens the fake IAM issued, by Google service
// account.
func minted(c *cluster.Cluster) map[string]int {
	out := map[string]int{}
	for v, kind := range c.GoogleSecrets() {
		if kind == "issued accessToken" { // generateAccessToken
			out[c.Google.TokenSubject(v)]++
		}
	}
	return out
}

// checkExchanges checks what crossed the fake Google: the subject tokens
// are the API server's (its issuer, the audience, a pod's service account),
// of every account in want and none in not, and IAM minted the tokens the
// impersonating pulls used for each Google service account in gsas. It
// prints claims and identities, never a token.
func checkExchanges(t *testing.T, c *cluster.Cluster, aud string, want, not, gsas []string) {
	t.Helper()
	subjects := map[string]bool{}
	for v, kind := range c.GoogleSecrets() {
		if kind != "request subject_token" {
			continue
		}
		var claims struct {
			Iss string   `json:"iss"`
			Sub string   `json:"sub"`
			Aud []string `json:"aud"`
			Exp int64    `json:"exp"`
			Iat int64    `json:"iat"`
			K8s struct {
				Pod  struct{ Name string } `json:"pod"`
				Node struct{ Name string } `json:"node"`
			} `json:"kubernetes.io"`
		}
		parts := strings.Split(v, ".")
		if len(parts) != 3 {
			t.Errorf("a subject token that is not a JWT reached STS")
			continue
		}
		b, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil || json.Unmarshal(b, &claims) != nil {
			t.Errorf("a subject token with unreadable claims reached STS")
			continue
		}
		logf("STS got a service-account token: iss=%s sub=%s aud=%v pod=%s node=%s lifetime=%ds",
			claims.Iss, claims.Sub, claims.Aud, claims.K8s.Pod.Name, claims.K8s.Node.Name, claims.Exp-claims.Iat)
		if claims.Iss != cluster.ServiceAccountIssuer || !slices.Equal(claims.Aud, []string{aud}) || claims.K8s.Pod.Name == "" {
			t.Errorf("subject token for %s: iss %s, aud %v, pod %q; want the API server's, [%s], bound to a pod", claims.Sub, claims.Iss, claims.Aud, claims.K8s.Pod.Name, aud)
		}
		subjects[claims.Sub] = true
	}
	for _, sub := range want {
		if !subjects[sub] {
			t.Errorf("STS never got a token of %s", sub)
		}
	}
	for _, sub := range not {
		if subjects[sub] {
			t.Errorf("STS got a token of %s, which asked for nothing (annotated mode: the node's key)", sub)
		}
	}
	m := minted(c)
	for _, email := range gsas {
		if m[email] == 0 {
			t.Errorf("IAM minted no token for %s (minted: %v)", email, m)
		}
	}
	logf("IAM minted tokens by impersonation for %v", m)
}

// serviceAccountIssuer reads what a pool provider needs to trust the
// cluster: the issuer from its discovery document and its JWKS, as
// `kubectl get --raw` prints them.
func serviceAccountIssuer(ctx context.Context, t *testing.T, c *cluster.Cluster) (issuer string, jwks []byte) {
	t.Helper()
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	var keys struct{ Keys []struct{ Alg string } }
	for path, v := range map[string]any{"/.well-known/openid-configuration": &doc, "/openid/v1/jwks": &keys} {
		out, err := c.Kubectl(ctx, "get", "--raw", path)
		if err == nil {
			err = json.Unmarshal([]byte(out), v)
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if v == &keys {
			jwks = []byte(out)
		}
	}
	if doc.Issuer != cluster.ServiceAccountIssuer || len(keys.Keys) == 0 {
		t.Fatalf("issuer %q with %d keys; want %s and a key", doc.Issuer, len(keys.Keys), cluster.ServiceAccountIssuer)
	}
	logf("service-account issuer %s, JWKS at %s: %d %s key(s)", doc.Issuer, doc.JWKSURI, len(keys.Keys), keys.Keys[0].Alg)
	return doc.Issuer, jwks
}

// checkProviderConfig prints the kubelet's provider config and checks
// that it asks for service-account tokens of audience aud.
func checkProviderConfig(t *testing.T, flags []string, aud string) {
	t.Helper()
	var config string
	for _, f := range flags {
		if v, ok := strings.CutPrefix(f, providerFlags[0]); ok {
			config = v
		}
	}
	b, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	logf("%s:\n%s", config, indent(string(b)))
	for _, want := range []string{"tokenAttributes", "serviceAccountTokenAudience: " + aud, "- " + gsaAnnotation, "- " + enableAnnotation,
		"name: " + "GCRCRED_POD_IDENTITY", "value: annotated"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %q", config, want)
		}
	}
}

// checkNodeKey: the node's key, for the pods that ask for nothing, is
// root's alone.
func checkNodeKey(t *testing.T) {
	t.Helper()
	const path = "/etc/gcrcred/credentials.json"
	fi, err := os.Lstat(path)
	if err != nil {
		t.Errorf("%s: %v; want the node's key", path, err)
		return
	}
	st := fi.Sys().(*syscall.Stat_t)
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 || st.Uid != 0 {
		t.Errorf("%s is %v owned by %d; want a regular file, 0600, root's", path, fi.Mode(), st.Uid)
		return
	}
	logf("the node's key: %s %v root", path, fi.Mode().Perm())
}

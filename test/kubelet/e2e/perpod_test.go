package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/internal/fakegoogle"
	"github.com/gcrcred/gcrcred/test/kubelet/e2e/cluster"
)

// The per-pod scenario's Kubernetes and Google identities and images.
const (
	wiPool, wiProvider = "k8s", "cluster" // the workload identity pool provider trusting the cluster
	puller             = "puller"         // the service account of each namespace
	nsA, nsB           = "team-a", "team-b"
	imageA             = cluster.RegistryHost + "/" + fakegoogle.ProjectID + "/team-a/app:v1"
	imageB             = cluster.RegistryHost + "/" + fakegoogle.ProjectID + "/team-b/app:v1"
	gsaAnnotation      = "iam.gke.io/gcp-service-account"
	wiSecretFile       = "workload-identity.json"
	wiSecretPath       = "/etc/gcrcred-secret/" + wiSecretFile
)

// scenarioPerPodIdentity is issue 10's proof: no key on the node; the
// kubelet gets each pod's service-account token from the real API server
// (audience AUD) and hands it to gcrcred, which exchanges it at the fake
// STS (trusting the API server's issuer and JWKS) and impersonates the
// Google service account its Kubernetes service account is annotated with.
// Team A's pod pulls team A's image; team B's pod may not (ErrImagePull,
// the registry says forbidden), not even from the node's image store once
// team A pulled it there, and pulls its own. No token in any log;
// the uninstall leaves the node as before.
func scenarioPerPodIdentity(ctx context.Context, t *testing.T, c *cluster.Cluster, d *deployer) {
	// Google trusts the cluster's service-account issuer.
	issuer, jwks := serviceAccountIssuer(ctx, t, c)
	provider, err := c.Google.AddOIDCProvider(fakegoogle.OIDCProvider{Pool: wiPool, Provider: wiProvider, Issuer: issuer, JWKS: jwks})
	if err != nil {
		t.Fatal(err)
	}
	aud := "https:" + provider
	logf("fake STS: pool provider %s trusts issuer %s (its JWKS from /openid/v1/jwks); kubelet audience %s", provider, issuer, aud)

	// Two Google service accounts, each usable by one Kubernetes service
	// account, each the only reader of one repository.
	gsa := map[string]string{nsA: c.Google.AddServiceAccount("gsa-a"), nsB: c.Google.AddServiceAccount("gsa-b")}
	for ns, image := range map[string]string{nsA: imageA, nsB: imageB} {
		if err := c.PushAppImage(ctx, image); err != nil {
			t.Fatal(err)
		}
		c.Google.GrantWorkloadIdentityUser(gsa[ns], fakegoogle.KubernetesPrincipal(wiPool, ns, puller))
		repo := strings.TrimPrefix(image[:strings.LastIndexByte(image, ':')], cluster.RegistryHost+"/")
		c.Registry.Grant(repo, gsa[ns])
		if err := c.CreateNamespace(ctx, ns); err != nil {
			t.Fatal(err)
		}
		if err := c.Apply(ctx, fmt.Sprintf(`apiVersion: v1
kind: ServiceAccount
metadata:
  name: %s
  namespace: %s
  annotations:
    %s: %s
`, puller, ns, gsaAnnotation, gsa[ns])); err != nil {
			t.Fatal(err)
		}
		logf("%s/%s is annotated %s=%s; only it may impersonate %s; only %s may read %s",
			ns, puller, gsaAnnotation, gsa[ns], gsa[ns], gsa[ns], repo)
	}

	// The credential configuration `gcloud iam workload-identity-pools
	// create-cred-config` writes: the only credentials the nodes get.
	wiConfig, err := c.Google.WriteWorkloadIdentityConfig(t.TempDir(), "workload-identity", provider, "")
	if err != nil {
		t.Fatal(err)
	}
	wiJSON, err := os.ReadFile(wiConfig)
	if err != nil {
		t.Fatal(err)
	}

	before := takeNodeState(ctx, t, c)
	logf("node before install: %d files and directories, digest %s; kubelet pid %d without provider flags",
		before.files.Files(), before.files.Digest(), before.kubeletPID)

	// The DaemonSet with the workload-identity component, the audience
	// patched in, and the credential configuration instead of a key.
	c.Google.ResetCounts()
	args, _ := json.Marshal([]string{"node", "install", "--root", "/host",
		"--workload-identity", wiSecretPath, "--service-account-audience", aud, "--require-service-account"})
	overlay := d.overlay(t, "install-workload-identity", `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../gcrcred/deploy
components:
- ../gcrcred/deploy/workload-identity
`+d.images()+`secretGenerator:
- name: gcrcred-credentials
  namespace: gcrcred-system
  behavior: replace
  files: [`+wiSecretFile+`]
  options:
    disableNameSuffixHash: true
patches:
- target: {kind: ClusterRole, name: gcrcred-service-account-audience}
  patch: |-
    - op: replace
      path: /rules/0/resources
      value: ["`+aud+`"]
- target: {kind: DaemonSet, name: gcrcred-node}
  patch: |-
    - op: replace
      path: /spec/template/spec/initContainers/0/args
      value: `+string(args)+`
`, map[string][]byte{wiSecretFile: wiJSON})
	d.install(ctx, t, overlay)
	keys, err := c.Kubectl(ctx, "-n", installerNS, "get", "secret", "gcrcred-credentials", "-o", "go-template={{range $k, $v := .data}}{{$k}} {{end}}")
	if err != nil {
		t.Fatal(err)
	}
	if keys != wiSecretFile {
		t.Errorf("secret gcrcred-credentials holds %q; want only %s", keys, wiSecretFile)
	}
	pid, _, flags := kubeletFlags(ctx, t, c)
	if len(flags) != len(providerFlags) {
		t.Fatalf("after the install, the kubelet (pid %d) runs with provider flags %v; want %d", pid, flags, len(providerFlags))
	}
	logf("kubelet pid %d runs with %s", pid, strings.Join(flags, " "))
	checkProviderConfig(t, flags, aud)
	checkNoKeyOnNode(t)

	// Team A pulls team A's image, as gsa-a.
	pulls := func() string {
		return fmt.Sprintf("sts=%d iam=%d token=%d; registry token-ok=%d forbidden=%d",
			c.Google.Count("sts"), c.Google.Count("iam"), c.Google.Count("token"), c.Registry.Count("token-ok"), c.Registry.Count("forbidden"))
	}
	if err := c.Apply(ctx, appPod(nsA, "app-a", puller, imageA)); err != nil {
		t.Fatal(err)
	}
	pod, err := c.WaitPod(ctx, nsA, "app-a", 2*time.Minute, "to run", running)
	if err != nil {
		t.Fatal(err)
	}
	logf("%s/app-a (%s, image %s): %s; fake Google and registry: %s", nsA, puller, imageA, cluster.PodState(pod), pulls())
	if c.Google.Count("sts") == 0 || c.Google.Count("iam") == 0 {
		t.Errorf("team A's pull went through no STS exchange or impersonation: %s", pulls())
	}

	// Team B may not pull team A's image...
	forbidden := c.Registry.Count("forbidden")
	if err := c.Apply(ctx, appPod(nsB, "steal-a", puller, imageA)); err != nil {
		t.Fatal(err)
	}
	pod, err = c.WaitPod(ctx, nsB, "steal-a", 2*time.Minute, "to fail pulling", pullFailed)
	if err != nil {
		t.Fatal(err)
	}
	logf("%s/steal-a (%s, image %s): %s", nsB, puller, imageA, cluster.PodState(pod))
	if n := c.Registry.Count("forbidden") - forbidden; n == 0 {
		t.Errorf("the registry refused team B no read of %s (forbidden +%d): %s", imageA, n, pulls())
	} else {
		logf("the registry refused gsa-b %d time(s) on team-a's repository: %s", n, pulls())
	}

	// Nor run it from the node's image store, where team A's pull left it:
	// the kubelet (KubeletEnsureSecretPulledImages, on by default since
	// 1.35) checks that this pod's credentials may pull it, and they may not.
	forbidden = c.Registry.Count("forbidden")
	cached := strings.Replace(appPod(nsB, "steal-a-cached", puller, imageA), "imagePullPolicy: Always", "imagePullPolicy: IfNotPresent", 1)
	if err := c.Apply(ctx, cached); err != nil {
		t.Fatal(err)
	}
	pod, err = c.WaitPod(ctx, nsB, "steal-a-cached", 2*time.Minute, "to fail pulling", pullFailed)
	if err != nil {
		t.Fatal(err)
	}
	n := c.Registry.Count("forbidden") - forbidden
	logf("%s/steal-a-cached (%s, image %s present on the node, imagePullPolicy IfNotPresent): %s; registry forbidden +%d",
		nsB, puller, imageA, cluster.PodState(pod), n)
	if n == 0 {
		t.Errorf("the kubelet did not check team B's credentials for the cached %s with the registry (forbidden +0)", imageA)
	}

	// ...and pulls its own.
	if err := c.Apply(ctx, appPod(nsB, "app-b", puller, imageB)); err != nil {
		t.Fatal(err)
	}
	pod, err = c.WaitPod(ctx, nsB, "app-b", 2*time.Minute, "to run", running)
	if err != nil {
		t.Fatal(err)
	}
	logf("%s/app-b (%s, image %s): %s; %s", nsB, puller, imageB, cluster.PodState(pod), pulls())
	if c.Google.Count("token") != 0 {
		t.Errorf("the fake Google's token endpoint (keys, refresh tokens) saw %d requests; with no key on the node, want 0", c.Google.Count("token"))
	}

	// The API server's tokens reached STS, each pull was made as the pod's
	// own Google service account, and no log holds any of those tokens.
	checkExchanges(t, c, aud, gsa)
	checkNoSecretsInLogs(t, c)

	// Uninstall, as for the key; then the audience's RBAC.
	d.uninstall(ctx, t)
	if out, err := c.Kubectl(ctx, "delete", "clusterrole,clusterrolebinding", "gcrcred-service-account-audience"); err != nil {
		t.Error(err)
	} else {
		logf("%s", oneLine(out))
	}
	checkNodeRestored(ctx, t, c, before)
	for _, ns := range []string{nsA, nsB} {
		if _, err := c.Kubectl(ctx, "delete", "namespace", ns, "--wait=false"); err != nil {
			t.Error(err)
		}
	}
}

// checkExchanges checks what crossed the fake Google: the subject tokens
// are the API server's (its issuer, the audience, a pod's service account
// of each team), and IAM minted the tokens the pulls used for each team's
// Google service account. It prints claims and identities, never a token.
func checkExchanges(t *testing.T, c *cluster.Cluster, aud string, gsa map[string]string) {
	t.Helper()
	subjects := map[string]bool{}
	minted := map[string]int{}
	for v, kind := range c.GoogleSecrets() {
		switch kind {
		case "request subject_token":
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
		case "issued accessToken": // generateAccessToken
			minted[c.Google.TokenSubject(v)]++
		}
	}
	for ns, email := range gsa {
		if sub := fakegoogle.KubernetesSubject(ns, puller); !subjects[sub] {
			t.Errorf("STS never got a token of %s", sub)
		}
		if minted[email] == 0 {
			t.Errorf("IAM minted no token for %s (minted: %v)", email, minted)
		}
	}
	logf("IAM minted tokens by impersonation for %v", minted)
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
	for _, want := range []string{"tokenAttributes", "serviceAccountTokenAudience: " + aud, gsaAnnotation} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %q", config, want)
		}
	}
}

// checkNoKeyOnNode: no credentials file on the node, and no private key in
// any file (binaries aside) under the paths an install touches.
func checkNoKeyOnNode(t *testing.T) {
	t.Helper()
	if _, err := os.Lstat("/etc/gcrcred/credentials.json"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("/etc/gcrcred/credentials.json: %v; want no such file with per-pod identity", err)
	}
	var read, withKey []string
	for _, root := range nodePaths {
		matches, _ := filepath.Glob(root)
		for _, m := range matches {
			filepath.WalkDir(m, func(p string, e fs.DirEntry, err error) error {
				if err != nil || !e.Type().IsRegular() {
					return nil
				}
				b, err := os.ReadFile(p)
				if err != nil || bytes.HasPrefix(b, []byte("\x7fELF")) {
					return nil // gcrcred's binary names the field, of course
				}
				read = append(read, p)
				// The cluster's own PKI (CA, API server, service-account
				// signing keys) is PEM under /etc/kubernetes: not gcrcred's.
				if bytes.Contains(b, []byte("private_key")) ||
					(bytes.Contains(b, []byte("PRIVATE KEY-----")) && !strings.HasPrefix(p, "/etc/kubernetes/")) {
					withKey = append(withKey, p)
				}
				return nil
			})
		}
	}
	if len(withKey) > 0 {
		t.Errorf("a private key on the node: %v", withKey)
		return
	}
	logf("no key on the node: no /etc/gcrcred/credentials.json; no \"private_key\" in the %d files under %s",
		len(read), strings.Join(nodePaths, " "))
}

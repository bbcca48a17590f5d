package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/gcrcred/gcrcred/test/kubelet/e2e/cluster"
)

// scenarioPrivatePull: a pod using a private image fails to pull without
// credentials; once gcrcred is installed on the node and the kubelet
// restarted, the same pod runs, and three pulls cost one token mint.
func scenarioPrivatePull(ctx context.Context, t *testing.T, c *cluster.Cluster, gcrcred string) {
	const ns = "e2e-private-pull"
	if err := c.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}

	checkServiceAccountIssuer(ctx, t, c)

	// 1. No credentials: the registry refuses the anonymous pull.
	anon, denied := c.Registry.Count("anonymous"), c.Registry.Count("denied")
	if err := c.Apply(ctx, appPod(ns, "app-1")); err != nil {
		t.Fatal(err)
	}
	pod, err := c.WaitPod(ctx, ns, "app-1", 2*time.Minute, "to fail pulling", pullFailed)
	if err != nil {
		t.Fatal(err)
	}
	logf("without gcrcred: pod app-1 %s", cluster.PodState(pod))
	anon, denied = c.Registry.Count("anonymous")-anon, c.Registry.Count("denied")-denied
	if anon == 0 || denied == 0 {
		t.Fatalf("the registry saw %d anonymous token requests and refused %d requests; want both > 0", anon, denied)
	}
	logf("registry: %d anonymous token request(s), %d request(s) refused", anon, denied)

	// 2. gcrcred on the node, the kubelet restarted.
	c.Google.ResetCounts()
	tokenOK := c.Registry.Count("token-ok")
	installGcrcredStandIn(ctx, t, c, gcrcred)

	// 3. The same pod runs, and two more pulls reuse the token.
	pod, err = c.WaitPod(ctx, ns, "app-1", 3*time.Minute, "to run", running)
	if err != nil {
		t.Fatal(err)
	}
	logf("with gcrcred: pod app-1 %s", cluster.PodState(pod))
	for _, name := range []string{"app-2", "app-3"} {
		if err := c.Apply(ctx, appPod(ns, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"app-2", "app-3"} {
		pod, err := c.WaitPod(ctx, ns, name, 2*time.Minute, "to run", running)
		if err != nil {
			t.Fatal(err)
		}
		logf("pod %s %s", name, cluster.PodState(pod))
	}
	logs, err := c.Kubectl(ctx, "-n", ns, "logs", "app-3")
	if err != nil || !strings.Contains(logs, "app: running") {
		t.Fatalf("kubectl logs app-3: %q, %v", logs, err)
	}
	logf("kubectl logs app-3: %s", logs)
	mints, pulls := c.Google.Count("token"), c.Registry.Count("token-ok")-tokenOK
	checkNodeRootFromPod(ctx, t, c, ns)
	logf("3 pods pulled %s: the registry accepted Google credentials %d time(s); the fake Google minted %d token(s)", cluster.AppImage, pulls, mints)
	if pulls < 3 {
		t.Errorf("the registry accepted credentials %d times; want at least 3 (one per pull)", pulls)
	}
	if mints != 1 {
		t.Errorf("the fake Google's token endpoint saw %d requests; want exactly 1 for 3 pulls", mints)
	}
}

// checkServiceAccountIssuer checks what a token verifier (a fake STS, later)
// needs: the issuer's discovery document names ServiceAccountIssuer, and
// its JWKS holds the RS256 signing key.
func checkServiceAccountIssuer(ctx context.Context, t *testing.T, c *cluster.Cluster) {
	t.Helper()
	disc, err := c.Kubectl(ctx, "get", "--raw", "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal([]byte(disc), &doc); err != nil || doc.Issuer != cluster.ServiceAccountIssuer {
		t.Fatalf("openid-configuration: %s (%v); want issuer %s", disc, err, cluster.ServiceAccountIssuer)
	}
	jwks, err := c.JWKS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct {
			Kty, Alg, Kid string
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(jwks), &set); err != nil || len(set.Keys) == 0 || set.Keys[0].Alg != "RS256" {
		t.Fatalf("JWKS: %s (%v); want an RS256 key", jwks, err)
	}
	logf("service-account issuer %s, JWKS at %s: %d %s key(s)", doc.Issuer, doc.JWKSURI, len(set.Keys), set.Keys[0].Alg)
}

// checkNodeRootFromPod runs, in a privileged pod with the node's / at
// /host, `chroot /host systemctl show kubelet` (what the installer
// DaemonSet will do) and writes a file there, then checks that the node
// sees that file: pod, node and supervisor share one root.
func checkNodeRootFromPod(ctx context.Context, t *testing.T, c *cluster.Cluster, ns string) {
	t.Helper()
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: host-probe
  namespace: %s
spec:
  hostNetwork: true
  hostPID: true
  restartPolicy: Never
  containers:
  - name: probe
    image: %s
    command: ["/app", "chroot", "/host", "/bin/sh", "-c",
      "systemctl show -p ActiveState,SubState kubelet && echo written-by-a-pod > /etc/gcrcred-e2e-probe"]
    securityContext:
      privileged: true
    volumeMounts:
    - name: host
      mountPath: /host
  volumes:
  - name: host
    hostPath:
      path: /
`, ns, cluster.AppImage)
	if err := c.Apply(ctx, manifest); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitPod(ctx, ns, "host-probe", 2*time.Minute, "to succeed", func(p *corev1.Pod) (bool, error) {
		if p.Status.Phase == corev1.PodFailed {
			return false, fmt.Errorf("pod failed: %s", cluster.PodState(p))
		}
		if p.Status.Phase != corev1.PodSucceeded {
			return false, fmt.Errorf("pod is %s", cluster.PodState(p))
		}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	out, err := c.Kubectl(ctx, "-n", ns, "logs", "host-probe")
	if err != nil || !strings.Contains(out, "ActiveState=active") {
		t.Fatalf("chroot /host systemctl show kubelet, from a pod: %q, %v", out, err)
	}
	b, err := os.ReadFile("/etc/gcrcred-e2e-probe")
	if err != nil || strings.TrimSpace(string(b)) != "written-by-a-pod" {
		t.Fatalf("the file the pod wrote to /host/etc/gcrcred-e2e-probe, on the node: %q, %v", b, err)
	}
	logf("from a privileged pod, chroot /host systemctl show kubelet: %s; the pod's /host/etc/gcrcred-e2e-probe is the node's /etc/gcrcred-e2e-probe", oneLine(out))
}

// installGcrcredStandIn does on the node what `gcrcred node install` is
// meant to do, by hand, as the README's "Any kubelet" section says: the
// binary into a bin dir, a service-account key (the fake Google's) at
// /etc/gcrcred/credentials.json, the provider config from `gcrcred
// kubelet-config`, the two kubelet flags added to KUBELET_EXTRA_ARGS in
// /etc/default/kubelet, then `systemctl restart kubelet`. To be replaced by
// the installer (run on the node, and from a DaemonSet).
func installGcrcredStandIn(ctx context.Context, t *testing.T, c *cluster.Cluster, gcrcred string) {
	t.Helper()
	const (
		binDir      = "/usr/local/lib/gcrcred/bin"
		credentials = "/etc/gcrcred/credentials.json"
		config      = "/etc/kubernetes/gcrcred-provider.yaml"
	)
	b, err := os.ReadFile(gcrcred)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(binDir, "gcrcred"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	key, email, err := c.Google.WriteServiceAccountKey(filepath.Dir(credentials), strings.TrimSuffix(filepath.Base(credentials), ".json"))
	if err != nil || key != credentials {
		t.Fatalf("writing the key: %s, %v", key, err)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "gcrcred"), "kubelet-config", "--credentials", credentials)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gcrcred kubelet-config: %v: %s", err, stderr.String())
	}
	if err := os.WriteFile(config, out, 0o644); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--image-credential-provider-config=" + config, "--image-credential-provider-bin-dir=" + binDir}
	if err := addKubeletExtraArgs(cluster.KubeletDefaultsFile, flags...); err != nil {
		t.Fatal(err)
	}
	before, _ := c.Systemctl(ctx, "show", "-p", "MainPID,ActiveEnterTimestamp", "kubelet")
	for _, args := range [][]string{{"daemon-reload"}, {"restart", "kubelet"}} {
		if _, err := c.Systemctl(ctx, args...); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := c.Systemctl(ctx, "show", "-p", "MainPID,ActiveEnterTimestamp", "kubelet")
	if state, err := c.Systemctl(ctx, "is-active", "kubelet"); err != nil {
		t.Fatalf("kubelet after the restart: %s %v", state, err)
	}
	logf("installed gcrcred for %s; %s now %q; kubelet restarted: %s -> %s", email, cluster.KubeletDefaultsFile,
		strings.Join(flags, " "), oneLine(before), oneLine(after))
}

// addKubeletExtraArgs adds flags to KUBELET_EXTRA_ARGS in an environment
// file, keeping what is there.
func addKubeletExtraArgs(path string, flags ...string) error {
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	found := false
	for i := len(lines) - 1; i >= 0 && !found; i-- {
		if v, ok := strings.CutPrefix(strings.TrimSpace(lines[i]), "KUBELET_EXTRA_ARGS="); ok {
			v = strings.Trim(v, `"'`)
			lines[i] = fmt.Sprintf("KUBELET_EXTRA_ARGS=%q", strings.TrimSpace(v+" "+strings.Join(flags, " ")))
			found = true
		}
	}
	if !found {
		lines = append(lines, fmt.Sprintf("KUBELET_EXTRA_ARGS=%q", strings.Join(flags, " ")))
	}
	return os.WriteFile(path, []byte(strings.TrimLeft(strings.Join(lines, "\n"), "\n")+"\n"), 0o644)
}

// appPod is a pod running the private AppImage on the host's network (the
// node's only CNI plugin is loopback), pulled at every start.
func appPod(ns, name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: %s
    imagePullPolicy: Always
    env:
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
`, name, ns, cluster.AppImage)
}

func pullFailed(p *corev1.Pod) (bool, error) {
	for _, s := range p.Status.ContainerStatuses {
		if w := s.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff") {
			return true, nil
		}
	}
	return false, fmt.Errorf("pod is %s", cluster.PodState(p))
}

func running(p *corev1.Pod) (bool, error) {
	if p.Status.Phase == corev1.PodRunning {
		for _, s := range p.Status.ContainerStatuses {
			if s.State.Running == nil {
				return false, fmt.Errorf("pod is %s", cluster.PodState(p))
			}
		}
		return len(p.Status.ContainerStatuses) > 0, nil
	}
	return false, fmt.Errorf("pod is %s", cluster.PodState(p))
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

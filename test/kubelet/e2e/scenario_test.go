package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/gcrcred/gcrcred/test/kubelet/e2e/cluster"
)

// scenarioDaemonSet is issue 9's proof, on a real kubelet and API server:
// a pod using a private image fails to pull without credentials; gcrcred,
// installed by Kubernetes itself (the image imported into containerd, the
// DaemonSet of deploy/ applied with the fake Google's key in its Secret),
// sets up the node and restarts the kubelet; the same pod then runs, and
// it and three more pods pulling cost one token mint; the documented
// uninstall leaves the node's files and the kubelet's flags as they were.
func scenarioDaemonSet(ctx context.Context, t *testing.T, c *cluster.Cluster, d *deployer) {
	const ns = "e2e-private-pull"
	if err := c.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}

	// 1. No credentials: the registry refuses the anonymous pull.
	anon, denied := c.Registry.Count("anonymous"), c.Registry.Count("denied")
	if err := c.Apply(ctx, appPod(ns, "app-1", "", cluster.AppImage)); err != nil {
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

	// 2. What an install may touch, before it.
	before := takeNodeState(ctx, t, c)
	logf("node before install: %d files and directories under %d paths, digest %s; kubelet pid %d without provider flags",
		before.files.Files(), len(nodePaths), before.files.Digest(), before.kubeletPID)

	// 3, 4. The DaemonSet, with the fake Google's key in the Secret.
	c.Google.ResetCounts()
	tokenOK := c.Registry.Count("token-ok")
	email := d.installWithKey(ctx, t, "install")
	pid, _, flags := kubeletFlags(ctx, t, c)
	if len(flags) != len(providerFlags) {
		t.Fatalf("after the install, the kubelet (pid %d) runs with provider flags %v; want %d", pid, flags, len(providerFlags))
	}
	logf("installed for %s: kubelet pid %d (was %d) runs with %s", email, pid, before.kubeletPID, strings.Join(flags, " "))

	// 5. The same pod runs, and two more pulls reuse the token.
	pod, err = c.WaitPod(ctx, ns, "app-1", 3*time.Minute, "to run", running)
	if err != nil {
		t.Fatal(err)
	}
	logf("with gcrcred: pod app-1 %s", cluster.PodState(pod))
	names := []string{"app-2", "app-3", "app-4"}
	for _, name := range names {
		if err := c.Apply(ctx, appPod(ns, name, "", cluster.AppImage)); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range names {
		pod, err := c.WaitPod(ctx, ns, name, 2*time.Minute, "to run", running)
		if err != nil {
			t.Fatal(err)
		}
		logf("pod %s %s", name, cluster.PodState(pod))
	}
	logs, err := c.Kubectl(ctx, "-n", ns, "logs", "app-4")
	if err != nil || !strings.Contains(logs, "app: running") {
		t.Fatalf("kubectl logs app-4: %q, %v", logs, err)
	}
	logf("kubectl logs app-4: %s", logs)
	mints, pulls := c.Google.Count("token"), c.Registry.Count("token-ok")-tokenOK
	logf("%d pods pulled %s: the registry accepted Google credentials %d time(s); the fake Google's token endpoint saw %d request(s)",
		1+len(names), cluster.AppImage, pulls, mints)
	if pulls < int64(1+len(names)) {
		t.Errorf("the registry accepted credentials %d times; want at least %d (one per pull)", pulls, 1+len(names))
	}
	if mints != 1 {
		t.Errorf("the fake Google's token endpoint saw %d requests; want exactly 1 for %d pulls", mints, 1+len(names))
	}
	checkNoSecretsInLogs(t, c)

	// 6. The documented uninstall; the node as it was.
	d.uninstall(ctx, t)
	checkNodeRestored(ctx, t, c, before)
	if _, err := c.Kubectl(ctx, "delete", "namespace", ns, "--wait=false"); err != nil {
		t.Error(err)
	}
}

// installWithKey installs gcrcred through the DaemonSet (overlay NAME)
// with a new key of the fake Google in the Secret, and returns its account.
func (d *deployer) installWithKey(ctx context.Context, t *testing.T, name string) string {
	t.Helper()
	key, email, err := d.c.Google.WriteServiceAccountKey(t.TempDir(), "key")
	if err != nil {
		t.Fatal(err)
	}
	keyJSON, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	overlay := d.overlay(t, name, `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../gcrcred/deploy
`+d.images()+`secretGenerator:
- name: gcrcred-credentials
  namespace: gcrcred-system
  behavior: replace
  files: [credentials.json=key.json]
  options:
    disableNameSuffixHash: true
`, map[string][]byte{"key.json": keyJSON})
	d.install(ctx, t, overlay)
	return email
}

// appPod is a pod running image (the app program) on the host's network
// (the node's only CNI plugin is loopback), pulled at every start, as
// service account sa ("" for the namespace's default).
func appPod(ns, name, sa, image string) string {
	account := ""
	if sa != "" {
		account = "  serviceAccountName: " + sa + "\n"
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 1
%s  containers:
  - name: app
    image: %s
    imagePullPolicy: Always
    env:
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
`, name, ns, account, image)
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

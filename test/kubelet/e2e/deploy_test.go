package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/test/kubelet/e2e/cluster"
)

// deployer installs gcrcred on the node the way a user of any cluster does:
// the image imported into the node's containerd (`make image`'s tarball,
// as `ctr -n k8s.io images import` or `kind load image-archive` would),
// then `kubectl apply -k` of an overlay of the repository's deploy/, in a
// directory next to a "gcrcred" link to the repository, so that the
// overlay reads exactly as the README's: resources: [../gcrcred/deploy].
type deployer struct {
	c         *cluster.Cluster
	gcrcred   string // the gcrcred under test, built from the same tree as the image
	dir       string // holds gcrcred -> the repository, and the overlays
	imageName string // docker.io/library/gcrcred
	imageTag  string // VERSION
}

const (
	installerNS        = cluster.InstallerNamespace
	installerDaemonSet = "gcrcred-node"
	uninstallDaemonSet = "gcrcred-node-uninstall"
)

// nodePaths are the node's files and directories an install may touch (on
// any flavour of node), snapshotted before an install and compared after
// the uninstall.
var nodePaths = []string{
	"/etc/default/kubelet", "/etc/sysconfig/kubelet",
	cluster.KubeadmFlagsFile, "/var/lib/kubelet/config.yaml",
	"/etc/systemd/system/kubelet.service", "/etc/systemd/system/kubelet.service.d",
	"/lib/systemd/system/kubelet.service", "/lib/systemd/system/kubelet.service.d",
	"/usr/lib/systemd/system/kubelet.service.d", "/run/systemd/system",
	"/etc/kubernetes",
	"/etc/gcrcred", "/usr/local/lib/gcrcred", "/usr/local/bin",
	"/var/lib/gcrcred", "/var/cache/gcrcred",
	"/var/lib/rancher/credentialprovider", "/etc/rancher",
	"/root/.docker", "/home/*/.docker",
}

// The kubelet flags `gcrcred node install` adds on a kubeadm node.
var providerFlags = []string{"--image-credential-provider-config=", "--image-credential-provider-bin-dir="}

func newDeployer(ctx context.Context, t *testing.T, c *cluster.Cluster, cfg cluster.Config) *deployer {
	t.Helper()
	ref, err := cluster.ImageArchiveName(cfg.Image)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.LastIndexByte(ref, ':')
	if i < 0 || strings.Contains(ref[i:], "/") {
		t.Fatalf("%s names the image %q: want NAME:TAG", cfg.Image, ref)
	}
	d := &deployer{c: c, gcrcred: cfg.Bin.Gcrcred, dir: t.TempDir(), imageName: ref[:i], imageTag: ref[i+1:]}
	// kustomize takes no absolute paths in resources: link the repository in.
	if err := os.Symlink(cfg.Repo, filepath.Join(d.dir, "gcrcred")); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if _, err := c.ImportImageArchive(ctx, cfg.Image); err != nil {
		t.Fatal(err)
	}
	logf("ctr -n k8s.io images import %s: %s (%.1fs)", filepath.Base(cfg.Image), ref, time.Since(t0).Seconds())
	return d
}

// images is the overlay's images: entry, as `make image` says to write it.
func (d *deployer) images() string {
	// Quoted: a tag such as 8459210 (a short commit) would be a YAML number.
	return fmt.Sprintf("images:\n- name: gcrcred\n  newName: %s\n  newTag: %q\n", d.imageName, d.imageTag)
}

// overlay writes an overlay directory: kustomization.yaml and the files it names.
func (d *deployer) overlay(t *testing.T, name, kustomization string, files map[string][]byte) string {
	t.Helper()
	dir := filepath.Join(d.dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for f, b := range files {
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kustomization), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// withTestSwitch wraps an install overlay in one that gives both
// containers GCRCRED_TEST_LOOPBACK_ENDPOINTS=1: the fake Google is on
// loopback, which credentials and workload identity files may name only
// under that test switch; `node install` passes it on to the kubelet's
// provider config only when it is set where it runs, and the readiness
// probe's status checks the workload identity file by the same rule. A
// user's overlay has no such patch.
func (d *deployer) withTestSwitch(t *testing.T, overlay string) string {
	t.Helper()
	return d.overlay(t, filepath.Base(overlay)+"-test-switch", `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../`+filepath.Base(overlay)+`
patches:
- target: {kind: DaemonSet, name: `+installerDaemonSet+`}
  patch: |-
    - op: add
      path: /spec/template/spec/initContainers/0/env
      value: [{name: GCRCRED_TEST_LOOPBACK_ENDPOINTS, value: "1"}]
    - op: add
      path: /spec/template/spec/containers/0/env
      value: [{name: GCRCRED_TEST_LOOPBACK_ENDPOINTS, value: "1"}]
`, nil)
}

// install applies an install overlay and waits for the DaemonSet's rollout:
// on every node the init container ran `gcrcred node install` and the
// unprivileged container's readiness probe (`gcrcred node status`) passes.
func (d *deployer) install(ctx context.Context, t *testing.T, overlay string) {
	t.Helper()
	t0 := time.Now()
	overlay = d.withTestSwitch(t, overlay)
	out, err := d.c.Kubectl(ctx, "apply", "-k", overlay)
	if err != nil {
		t.Fatal(err)
	}
	logf("kubectl apply -k %s: %s", filepath.Base(overlay), oneLine(out))
	d.rollout(ctx, t, installerDaemonSet, "install")
	logf("gcrcred installed by the DaemonSet in %.1fs", time.Since(t0).Seconds())
	// What the readiness probe runs, as it runs it (uid 65532, no
	// capabilities, /host read-only).
	out, err = d.c.Kubectl(ctx, "-n", installerNS, "exec", "daemonset/"+installerDaemonSet, "-c", "status", "--",
		"/gcrcred", "node", "status", "--root", "/host")
	if err != nil {
		t.Fatalf("the readiness probe's command, run again: %v\n%s", err, out)
	}
	logf("kubectl exec daemonset/%s -c status -- /gcrcred node status --root /host:\n%s", installerDaemonSet, indent(out))
}

// rollout waits for a DaemonSet's rollout (`kubectl rollout status`), then
// prints its init container's log. An init container that fails ends the
// wait at once: the kubelet would only retry it.
func (d *deployer) rollout(ctx context.Context, t *testing.T, ds, init string) {
	t.Helper()
	var status string
	err := cluster.Poll(ctx, 3*time.Minute, "daemonset/"+ds+" to roll out", func(ctx context.Context) (bool, error) {
		out, err := d.c.Kubectl(ctx, "-n", installerNS, "rollout", "status", "daemonset/"+ds, "--watch=false")
		if status = out; err != nil || strings.Contains(out, "successfully rolled out") {
			return err == nil, err
		}
		codes, _ := d.c.Kubectl(ctx, "-n", installerNS, "get", "pods", "-l", "app.kubernetes.io/name="+ds, "-o",
			`jsonpath={.items[*].status.initContainerStatuses[?(@.name=="`+init+`")]..terminated.exitCode}`)
		if strings.Trim(codes, "0 ") != "" {
			return false, cluster.Fatal(fmt.Errorf("init container %s exited %s", init, codes))
		}
		return false, errors.New(out)
	})
	// The init container's log: its last run on every node.
	logs, _ := d.c.Kubectl(ctx, "-n", installerNS, "logs", "-l", "app.kubernetes.io/name="+ds, "-c", init, "--prefix", "--tail=-1")
	logf("init container %s (%s):\n%s", init, ds, indent(logs))
	if err != nil {
		t.Fatal(err)
	}
	logf("kubectl -n %s rollout status daemonset/%s: %s", installerNS, ds, oneLine(status))
}

// uninstall follows deploy/uninstall: delete gcrcred-node, apply the
// uninstall overlay, wait for its rollout, delete it and the namespace.
func (d *deployer) uninstall(ctx context.Context, t *testing.T) {
	t.Helper()
	t0 := time.Now()
	overlay := d.overlay(t, "uninstall", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../gcrcred/deploy/uninstall\n"+d.images(), nil)
	if _, err := d.c.Kubectl(ctx, "-n", installerNS, "delete", "daemonset", installerDaemonSet); err != nil {
		t.Fatal(err)
	}
	out, err := d.c.Kubectl(ctx, "apply", "-k", overlay)
	if err != nil {
		t.Fatal(err)
	}
	logf("kubectl apply -k uninstall: %s", oneLine(out))
	d.rollout(ctx, t, uninstallDaemonSet, "uninstall")
	for _, args := range [][]string{
		{"-n", installerNS, "delete", "daemonset", uninstallDaemonSet},
		{"delete", "namespace", installerNS, "--timeout=2m"},
	} {
		if _, err := d.c.Kubectl(ctx, args...); err != nil {
			t.Fatal(err)
		}
	}
	logf("uninstalled by the DaemonSet in %.1fs; namespace %s deleted", time.Since(t0).Seconds(), installerNS)
}

// The chart's release, as docs/daemonset.md installs it: in the default
// namespace, which holds only Helm's record (the chart makes gcrcred-system).
const (
	release   = "gcrcred"
	releaseNS = "default"
)

// helmInstall installs charts/gcrcred with `helm install` and the values
// given (--set, --set-file... as a user types them), and waits for the
// rollout as install does. The test switch goes in through the chart's
// env value, as withTestSwitch does for an overlay.
func (d *deployer) helmInstall(ctx context.Context, t *testing.T, values ...string) {
	t.Helper()
	t0 := time.Now()
	args := append([]string{"install", release, d.chart(), "--namespace", releaseNS,
		"--set", "image.repository=" + d.imageName, "--set-string", "image.tag=" + d.imageTag,
		"--set-json", `env=[{"name":"GCRCRED_TEST_LOOPBACK_ENDPOINTS","value":"1"}]`}, values...)
	out, err := d.c.Helm(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	logf("helm install %s charts/gcrcred %s:\n%s", release, strings.Join(values, " "), indent(out))
	d.rollout(ctx, t, installerDaemonSet, "install")
	logf("gcrcred installed by the chart in %.1fs", time.Since(t0).Seconds())
	out, err = d.c.Kubectl(ctx, "-n", installerNS, "exec", "daemonset/"+installerDaemonSet, "-c", "status", "--",
		"/gcrcred", "node", "status", "--root", "/host")
	if err != nil {
		t.Fatalf("the readiness probe's command, run again: %v\n%s", err, out)
	}
	logf("kubectl exec daemonset/%s -c status -- /gcrcred node status --root /host:\n%s", installerDaemonSet, indent(out))
}

// helmUninstall follows the chart's uninstall: `helm upgrade --set
// uninstall=true` replaces gcrcred-node with gcrcred-node-uninstall, whose
// rollout says every node is undone; `helm uninstall --wait` then deletes
// every object of the release, the namespace and any RBAC with it.
func (d *deployer) helmUninstall(ctx context.Context, t *testing.T) {
	t.Helper()
	t0 := time.Now()
	out, err := d.c.Helm(ctx, "upgrade", release, d.chart(), "--namespace", releaseNS, "--reuse-values", "--set", "uninstall=true")
	if err != nil {
		t.Fatal(err)
	}
	logf("helm upgrade %s charts/gcrcred --reuse-values --set uninstall=true:\n%s", release, indent(out))
	d.rollout(ctx, t, uninstallDaemonSet, "uninstall")
	out, err = d.c.Helm(ctx, "uninstall", release, "--namespace", releaseNS, "--wait", "--timeout", "2m")
	if err != nil {
		t.Fatal(err)
	}
	logf("helm uninstall %s --wait: %s", release, oneLine(out))
	for _, what := range []string{"namespace/" + installerNS, "clusterrole/gcrcred-service-account-audience", "clusterrolebinding/gcrcred-service-account-audience"} {
		if got, err := d.c.Kubectl(ctx, "get", what, "--ignore-not-found", "-o", "name"); err != nil || got != "" {
			t.Errorf("after helm uninstall: kubectl get %s: %q, %v; want it gone", what, got, err)
		}
	}
	logf("uninstalled by the chart in %.1fs; namespace %s and the RBAC deleted with the release", time.Since(t0).Seconds(), installerNS)
}

// chart is charts/gcrcred in the node's read-only copy of the repository.
func (d *deployer) chart() string {
	return filepath.Join(d.dir, "gcrcred", "charts", "gcrcred")
}

// kubeletFlags returns the running kubelet's pid and its provider flags.
func kubeletFlags(ctx context.Context, t *testing.T, c *cluster.Cluster) (int, []string, []string) {
	t.Helper()
	pid, args, err := c.KubeletProcess(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var flags []string
	for _, a := range args {
		for _, f := range providerFlags {
			if strings.HasPrefix(a, f) {
				flags = append(flags, a)
			}
		}
	}
	return pid, args, flags
}

// nodeState is what the node looked like before an install: the snapshot
// of nodePaths and the kubelet's command line.
type nodeState struct {
	files       cluster.Snapshot
	kubeletPID  int
	kubeletArgs []string
}

func takeNodeState(ctx context.Context, t *testing.T, c *cluster.Cluster) nodeState {
	t.Helper()
	snap, err := cluster.SnapshotPaths(nodePaths...)
	if err != nil {
		t.Fatal(err)
	}
	pid, args, flags := kubeletFlags(ctx, t, c)
	if len(flags) > 0 {
		t.Fatalf("the kubelet (pid %d) already runs with %v", pid, flags)
	}
	return nodeState{files: snap, kubeletPID: pid, kubeletArgs: args}
}

// checkNodeRestored checks that the node's files are as before and that a
// restarted kubelet runs with its old command line (without gcrcred's flags).
func checkNodeRestored(ctx context.Context, t *testing.T, c *cluster.Cluster, before nodeState) {
	t.Helper()
	after, err := cluster.SnapshotPaths(nodePaths...)
	if err != nil {
		t.Fatal(err)
	}
	if diff := before.files.Diff(after); diff != "" {
		t.Errorf("after the uninstall, the node's files differ from before the install:\n%s", diff)
	} else {
		logf("node files after uninstall: %d entries, digest %s: as before the install", after.Files(), after.Digest())
	}
	pid, args, flags := kubeletFlags(ctx, t, c)
	switch {
	case len(flags) > 0:
		t.Errorf("the kubelet (pid %d) still runs with %v", pid, flags)
	case !slices.Equal(args, before.kubeletArgs):
		t.Errorf("the kubelet (pid %d) runs with %q; before the install: %q", pid, args, before.kubeletArgs)
	case pid == before.kubeletPID:
		t.Errorf("the kubelet (pid %d) was never restarted", pid)
	default:
		logf("kubelet pid %d runs with its old flags (%d args, none of gcrcred's); pid before the install: %d", pid, len(args), before.kubeletPID)
	}
	if state, err := c.Systemctl(ctx, "is-active", "kubelet"); err != nil {
		t.Errorf("kubelet after the uninstall: %s %v", state, err)
	}
}

// checkNoSecretsInLogs looks for every secret the fake Google saw or
// issued, and for JWTs and Google access tokens by shape, in the kubelet's,
// containerd's and the pods' logs.
func checkNoSecretsInLogs(t *testing.T, c *cluster.Cluster) {
	t.Helper()
	secrets := c.GoogleSecrets()
	kinds := map[string]int{}
	for _, k := range secrets {
		kinds[k]++
	}
	leaks, files, err := c.FindSecretsInLogs(context.Background(), "eyJ", "ya29.")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leaks {
		t.Errorf("secret in a log: %s", l)
	}
	if len(leaks) == 0 {
		logf("no secret in the journal and %d pod logs (systemd, kubelet, containerd, control plane, every pod): looked for %d values the fake Google saw or issued %v, and for \"eyJ\" and \"ya29.\"",
			len(files)-1, len(secrets), kinds)
	}
}

func indent(s string) string {
	if strings.TrimSpace(s) == "" {
		return "    (empty)"
	}
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

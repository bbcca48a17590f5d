package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/test/fakeminikube/fakecluster"
)

// These tests hold the fake to what the installer's tests rely on: that it
// fails where real minikube, systemd and the kubelet fail.

func TestFakeKubeletBehavesLikeSystemdAndTheKubelet(t *testing.T) {
	t.Parallel()
	c := fakecluster.New(t, "k", "kicbase/x86_64")
	c.Minikube("start", "--extra-config=kubelet.max-pods=50")
	ssh := func(cmd string) (string, error) { return c.TryMinikube("ssh", "--", cmd) }

	if out, err := ssh("systemctl daemon-reload"); err == nil || !strings.Contains(out, "Access denied") {
		t.Errorf("daemon-reload without sudo: %v %s", err, out)
	}
	addFlag := `sudo sed -i 's|--max-pods=50|--max-pods=50 --image-credential-provider-config=/etc/p.yaml --image-credential-provider-bin-dir=/opt/bin|' /etc/systemd/system/kubelet.service.d/10-kubeadm.conf`
	if out, err := ssh(addFlag + " && sudo systemctl restart kubelet && systemctl is-active kubelet"); err != nil || !strings.Contains(out, "changed on disk") {
		t.Errorf("restart without daemon-reload should run the old unit and warn: %v\n%s", err, out)
	}
	out, err := ssh("sudo systemctl daemon-reload && sudo systemctl restart kubelet; systemctl is-active kubelet")
	if err == nil || !strings.Contains(out, "activating") {
		t.Errorf("a kubelet whose provider config is missing must not run: %v\n%s", err, out)
	}
	if _, running := c.KubeletFlags("k"); running != nil {
		t.Errorf("a failed kubelet shows in /proc: %v", running)
	}
	// What the kubelet lacked appears: its restart loop brings it up.
	config := "kind: CredentialProviderConfig\napiVersion: kubelet.config.k8s.io/v1\nproviders:\n- name: p\n  matchImages: [gcr.io]\n  defaultCacheDuration: 1m\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n"
	os.WriteFile(filepath.Join(c.Root("k"), "etc/p.yaml"), []byte(config), 0o644)
	os.MkdirAll(filepath.Join(c.Root("k"), "opt/bin"), 0o755)
	if out, err := ssh("systemctl is-active kubelet"); err == nil {
		t.Errorf("plugin p is not in the bin dir, yet the kubelet runs: %s", out)
	}
	os.WriteFile(filepath.Join(c.Root("k"), "opt/bin/p"), []byte("#!/bin/sh\n"), 0o755)
	if out, err := ssh("systemctl is-active kubelet"); err != nil {
		t.Errorf("everything is there, yet the kubelet does not run: %v %s", err, out)
	}
	if _, running := c.KubeletFlags("k"); running["image-credential-provider-config"] != "/etc/p.yaml" {
		t.Errorf("running kubelet flags: %v", running)
	}
}

func TestFakeNodesAreMinikubeLike(t *testing.T) {
	t.Parallel()
	c := fakecluster.New(t, "m", "kicbase/x86_64,buildroot/aarch64")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	sync := filepath.Join(c.FileSyncDir(), "etc/synced")
	must(os.MkdirAll(filepath.Dir(sync), 0o755))
	must(os.WriteFile(sync, []byte("x"), 0o600))
	c.Minikube("start", "--nodes", "2")

	if out := c.Minikube("ssh", "-n", "m-m02", "--", "uname -m; sudo sh -c 'uname -m'; id -un; sudo id -u"); out != "aarch64\naarch64\ndocker\n0\n" {
		t.Errorf("node m-m02 says %q", out)
	}
	if fi, err := os.Stat(filepath.Join(c.Root("m-m02"), "etc/synced")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file sync should keep the mode: %v %v", fi, err)
	}
	key := filepath.Join(t.TempDir(), "k")
	must(os.WriteFile(key, []byte("SECRET"), 0o600))
	c.Secret = "SECRET"
	c.Minikube("cp", key, "m:/etc/k")
	if fi, _ := os.Stat(filepath.Join(c.Root("m"), "etc/k")); fi.Mode().Perm() != 0o644 {
		t.Errorf("cp wrote mode %v, minikube writes 0644", fi.Mode())
	}
	if !strings.Contains(c.Violations(), "m:/etc/k") {
		t.Errorf("a world-readable secret was not logged: %q", c.Violations())
	}

	c.Fail("cp", "m-m02", "")
	if _, err := c.TryMinikube("cp", key, "m-m02:/tmp/k"); err == nil {
		t.Error("an injected cp fault did not fail")
	}
	c.ClearFaults()

	// A Buildroot reboot keeps /var/lib/minikube, loses the rest of its RAM root.
	must(os.WriteFile(filepath.Join(c.Root("m-m02"), "etc/lost"), nil, 0o644))
	must(os.WriteFile(filepath.Join(c.Root("m-m02"), "var/lib/minikube/kept"), nil, 0o644))
	c.Minikube("stop")
	out, _ := c.TryMinikube("status", "-o", "json")
	var sts []map[string]any
	if json.Unmarshal([]byte(out), &sts) != nil || len(sts) != 2 || sts[0]["Host"] != "Stopped" {
		t.Errorf("status of a stopped profile: %s", out)
	}
	c.Minikube("start")
	if _, err := os.Stat(filepath.Join(c.Root("m-m02"), "etc/lost")); err == nil {
		t.Error("a Buildroot node kept /etc across a reboot")
	}
	if _, err := os.Stat(filepath.Join(c.Root("m-m02"), "var/lib/minikube/kept")); err != nil {
		t.Error("a Buildroot node lost /var/lib/minikube across a reboot")
	}
	if _, err := os.Stat(filepath.Join(c.Root("m-m02"), "etc/synced")); err != nil {
		t.Error("file sync did not run at start")
	}
	c.Minikube("node", "add")
	if names := c.NodeNames(); len(names) != 3 || names[2] != "m-m03" {
		t.Errorf("nodes after node add: %v", names)
	}
	if out, err := c.WithProfile("nope").TryMinikube("status", "-o", "json"); err == nil || !strings.Contains(out, "not found") {
		t.Errorf("status of a missing profile: %v %s", err, out)
	}
}

// TestFakeNodeFlavours holds the standalone node roots to what gcrcred's
// node tests rely on: the kubeadm kubelet takes its flags from the
// environment files systemd would read, k3s passes the provider flags to
// its kubelet only when both default paths exist, and both fail as the
// real ones do when the provider files are wrong.
func TestFakeNodeFlavours(t *testing.T) {
	t.Parallel()
	n := fakecluster.NewNode(t, "kubeadm")
	args := n.KubeletArgs()
	if args["config"] != "/var/lib/kubelet/config.yaml" || args["container-runtime-endpoint"] == "" || args["kubeconfig"] == "" {
		t.Errorf("the kubeadm kubelet's flags (Environment=, kubeadm-flags.env): %v", args)
	}
	os.WriteFile(filepath.Join(n.Root, "etc/default/kubelet"), []byte("KUBELET_EXTRA_ARGS=\"--image-credential-provider-config=/etc/p.yaml --image-credential-provider-bin-dir=/opt/bin\"\n"), 0o644)
	if out, _ := n.Systemctl("restart", "kubelet"); out != "" {
		t.Errorf("restart: %s", out)
	}
	if st, _ := n.Systemctl("is-active", "kubelet"); strings.TrimSpace(st) != "activating" || n.KubeletArgs() != nil {
		t.Errorf("a kubelet whose provider config is missing is %q, runs with %v", st, n.KubeletArgs())
	}

	k := fakecluster.NewNode(t, "k3s")
	if a := k.KubeletArgs(); a == nil || a["image-credential-provider-config"] != "" {
		t.Errorf("k3s without the provider files gives its kubelet %v", a)
	}
	os.MkdirAll(filepath.Join(k.Root, "var/lib/rancher/credentialprovider/bin"), 0o755)
	os.WriteFile(filepath.Join(k.Root, "var/lib/rancher/credentialprovider/config.yaml"), []byte("kind: CredentialProviderConfig\napiVersion: kubelet.config.k8s.io/v1\nproviders: []\n"), 0o644)
	k.Systemctl("restart", "k3s")
	if st, _ := k.Systemctl("is-active", "k3s"); strings.TrimSpace(st) == "active" {
		t.Error("k3s runs with a provider config that has no providers")
	}
	k.FailUnit("k3s")
	os.Remove(filepath.Join(k.Root, "var/lib/rancher/credentialprovider/config.yaml"))
	k.Systemctl("restart", "k3s")
	if st, _ := k.Systemctl("is-active", "k3s"); strings.TrimSpace(st) != "active" || k.KubeletArgs()["image-credential-provider-config"] != "" {
		t.Errorf("k3s without the config: %q, its kubelet %v", st, k.KubeletArgs())
	}
}

// TestFakeKindAndDocker holds the fake kind, docker and kubectl to what
// `gcrcred kind`'s tests rely on: kind names nodes as kind does and says a
// cluster is missing on stderr with exit 0; docker exec runs argv, no
// shell, with its exit code; docker cp keeps the mode, copies a link as a
// link unless -L, and needs the destination's directory; a restarted node
// keeps its files; kubectl knows only the contexts the tools make.
func TestFakeKindAndDocker(t *testing.T) {
	t.Parallel()
	c := fakecluster.New(t, "unused", "")
	if names := c.KindCreate("k", 0); len(names) != 1 || names[0] != "k-control-plane" {
		t.Fatalf("nodes: %v", names)
	}
	if out, err := c.Tool("kind", "get", "nodes", "--name", "nope"); err != nil || !strings.Contains(out, `No kind nodes found for cluster "nope".`) {
		t.Errorf("kind get nodes of a missing cluster: %v %s", err, out)
	}
	exitCode := func(err error) int {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		return 0
	}
	for _, tc := range []struct {
		argv []string
		code int
		out  string
	}{
		{[]string{"uname", "-m"}, 0, "x86_64\n"},
		{[]string{"sh", "-c", "exit 3"}, 3, ""},
		{[]string{"echo $HOME"}, 127, "executable file not found"},
	} {
		out, err := c.Tool("docker", append([]string{"exec", "--privileged", "k-control-plane"}, tc.argv...)...)
		if exitCode(err) != tc.code || !strings.Contains(out, tc.out) {
			t.Errorf("docker exec %q: exit %d, %q", tc.argv, exitCode(err), out)
		}
	}

	dir := t.TempDir()
	file, link := filepath.Join(dir, "key"), filepath.Join(dir, "link")
	if err := os.WriteFile(file, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	root := c.KindNode("k", "k-control-plane").Root
	c.Tool("docker", "cp", link, "k-control-plane:/root/as-link")
	if fi, err := os.Lstat(filepath.Join(root, "root/as-link")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("docker cp without -L copied a link as %v (%v)", fi, err)
	}
	c.Tool("docker", "cp", "-L", link, "k-control-plane:/root/key")
	if fi, err := os.Lstat(filepath.Join(root, "root/key")); err != nil || fi.Mode() != 0o600 {
		t.Errorf("docker cp -L: %v (%v)", fi, err)
	}
	if out, err := c.Tool("docker", "cp", file, "k-control-plane:/no/such/dir/key"); err == nil || !strings.Contains(out, "Could not find the file /no/such/dir") {
		t.Errorf("docker cp into a missing directory: %v %s", err, out)
	}
	if out, err := c.Tool("docker", "restart", "k-control-plane"); err != nil {
		t.Fatalf("docker restart: %v %s", err, out)
	}
	if _, err := os.Stat(filepath.Join(root, "root/key")); err != nil || c.KindNode("k", "k-control-plane").KubeletArgs() == nil {
		t.Errorf("after docker restart: %v, kubelet %v", err, c.KindNode("k", "k-control-plane").KubeletArgs())
	}
	if out, err := c.Tool("kubectl", "--context", "kind-nope", "delete", "clusterrole", "-l", "a=b"); err == nil || !strings.Contains(out, `context "kind-nope" does not exist`) {
		t.Errorf("kubectl with a context no tool made: %v %s", err, out)
	}
	if out, err := c.Tool("kubectl", "--context", "kind-k", "delete", "clusterrole", "-l", "a=b"); err != nil || !strings.Contains(out, "No resources found") {
		t.Errorf("kubectl delete of nothing: %v %s", err, out)
	}
}

package minikube

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// nodeRoot lays out the little of a node that node-setup reads.
func nodeRoot(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("node-setup changes file owners: run as root")
	}
	root := t.TempDir()
	files := map[string]string{
		"etc/passwd":                   "root:x:0:0:root:/root:/bin/sh\ndocker:x:1000:999::/home/docker:/bin/sh\n",
		"etc/group":                    "root:x:0:\ndocker:x:999:docker\n",
		"etc/gcrcred/credentials.json": `{"type":"service_account"}`,
		KubeletDropIn[1:]:              minikubeDropIn,
	}
	for p, c := range files {
		mustWrite(t, filepath.Join(root, p), c, 0o600)
	}
	for _, d := range []string{"root", "home/docker", "var/lib"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.Chown(filepath.Join(root, "home/docker"), 1000, 999)
	return root
}

func mustWrite(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func owner(t *testing.T, path string) (os.FileMode, uint32, uint32) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fi.Mode().Perm(), st.Uid, st.Gid
}

func TestNodeSetupAndCleanup(t *testing.T) {
	root := nodeRoot(t)
	userCfg := filepath.Join(root, "home/docker/.docker/config.json")
	original := "{\"auths\": {\"r.example\": {}},\n \"credHelpers\": {\"gcr.io\": \"gcloud\"}}"
	mustWrite(t, userCfg, original, 0o644)
	os.Chown(filepath.Dir(userCfg), 1000, 999)
	os.Chown(userCfg, 1000, 999)

	var out strings.Builder
	s := &nodeSetup{root: root, out: &out}
	if err := s.setup(false); err != nil {
		t.Fatalf("setup: %v\n%s", err, out.String())
	}
	if m, u, g := owner(t, filepath.Join(root, NodeCredentials)); m != CredentialsMode || u != 0 || g != 999 {
		t.Errorf("credentials %o %d:%d, want %o root:docker", m, u, g, CredentialsMode)
	}
	if m, u, _ := owner(t, filepath.Join(root, NodeCacheRoot, "1000")); m != 0o700 || u != 1000 {
		t.Errorf("docker's token cache %o uid %d", m, u)
	}
	for _, cfg := range []string{userCfg, filepath.Join(root, "root/.docker/config.json")} {
		b, _ := os.ReadFile(cfg)
		var c struct {
			Auths       map[string]any
			CredHelpers map[string]string
		}
		if json.Unmarshal(b, &c) != nil || c.CredHelpers["gcr.io"] != "gcrcred" || c.CredHelpers["us-docker.pkg.dev"] != "gcrcred" {
			t.Errorf("%s: %s", cfg, b)
		}
		if cfg == userCfg && c.Auths["r.example"] == nil {
			t.Errorf("the user's auths were lost: %s", b)
		}
	}
	if m, u, g := owner(t, userCfg); m != 0o644 || u != 1000 || g != 999 {
		t.Errorf("docker's config.json is %o %d:%d after the edit, want it as it was", m, u, g)
	}

	out.Reset()
	s = &nodeSetup{root: root, out: &out}
	if err := s.setup(false); err != nil || strings.TrimSpace(out.String()) != "unchanged" {
		t.Errorf("second setup: %v, said %q", err, out.String())
	}

	if err := (&nodeSetup{root: root, out: &out}).cleanup(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(userCfg); string(b) != original {
		t.Errorf("docker's config after cleanup:\n%s\nwant\n%s", b, original)
	}
	if m, u, g := owner(t, userCfg); m != 0o644 || u != 1000 || g != 999 {
		t.Errorf("docker's config.json is %o %d:%d after cleanup", m, u, g)
	}
	if _, err := os.Stat(filepath.Join(root, "root/.docker")); !os.IsNotExist(err) {
		t.Errorf("root's .docker, which setup created, is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, NodeCacheRoot)); !os.IsNotExist(err) {
		t.Error("token caches left after cleanup")
	}
}

// A config the user changed after install loses only gcrcred's entries,
// and those it replaced come back.
func TestCleanupAfterTheUserEditedTheConfig(t *testing.T) {
	root := nodeRoot(t)
	cfg := filepath.Join(root, "root/.docker/config.json")
	mustWrite(t, cfg, `{"credHelpers": {"gcr.io": "gcloud"}}`, 0o600)
	var out strings.Builder
	if err := (&nodeSetup{root: root, out: &out}).setup(false); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(cfg)
	var doc map[string]any
	json.Unmarshal(b, &doc)
	doc["psFormat"] = "table"
	b, _ = json.Marshal(doc)
	os.WriteFile(cfg, b, 0o600)

	if err := (&nodeSetup{root: root, out: &out}).cleanup(); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(cfg)
	var got struct {
		PsFormat    string
		CredHelpers map[string]string
	}
	json.Unmarshal(b, &got)
	if got.PsFormat != "table" || len(got.CredHelpers) != 1 || got.CredHelpers["gcr.io"] != "gcloud" {
		t.Errorf("after cleanup: %s", b)
	}
}

func TestBootSetupOnlyWhereTheKubeletUsesUs(t *testing.T) {
	root := nodeRoot(t)
	var out strings.Builder
	if err := (&nodeSetup{root: root, out: &out}).setup(true); err != nil || !strings.Contains(out.String(), "nothing to do") {
		t.Errorf("boot setup on a kubelet without our flags: %v %q", err, out.String())
	}
	if _, err := os.Stat(filepath.Join(root, "root/.docker")); !os.IsNotExist(err) {
		t.Error("boot setup touched Docker on a node whose kubelet does not use gcrcred")
	}
	withFlags, _, _ := addFlags(minikubeDropIn)
	mustWrite(t, filepath.Join(root, KubeletDropIn), withFlags, 0o644)
	if err := (&nodeSetup{root: root, out: &out}).setup(true); err != nil {
		t.Fatal(err)
	}
	if m, _, g := owner(t, filepath.Join(root, NodeCredentials)); m != CredentialsMode || g != 999 {
		t.Errorf("boot setup left the credentials %o gid %d", m, g)
	}
}

func TestSetupRefusesASymlinkedConfig(t *testing.T) {
	root := nodeRoot(t)
	os.MkdirAll(filepath.Join(root, "home/docker/.docker"), 0o700)
	os.Symlink("/etc/shadow", filepath.Join(root, "home/docker/.docker/config.json"))
	err := (&nodeSetup{root: root, out: &strings.Builder{}}).setup(false)
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("setup through a symlink: %v", err)
	}
}

func TestDockerHostsFollowExtraRegistries(t *testing.T) {
	root := nodeRoot(t)
	cfg, err := providerConfig([]string{"registry.example.com", "*.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(root, NodeProviderConfig), string(cfg), 0o644)
	hosts := (&nodeSetup{root: root}).dockerHosts()
	if !contains(hosts, "registry.example.com") || contains(hosts, "*.example.org") || !contains(hosts, "gcr.io") {
		t.Errorf("docker hosts = %v", hosts)
	}
}

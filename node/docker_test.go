package node_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gcrcred/gcrcred/test/testbin"
)

func (w *world) write(p, content string, mode os.FileMode, uid, gid int) string {
	w.t.Helper()
	full := filepath.Join(w.n.Root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		w.t.Fatal(err)
	}
	write := func() error { return os.WriteFile(full, []byte(content), mode) }
	if mode&0o111 != 0 { // a program: run by the tests that write it
		write = func() error {
			if err := testbin.WriteProgram(full, []byte(content)); err != nil {
				return err
			}
			return os.Chmod(full, mode)
		}
	}
	if err := write(); err != nil {
		w.t.Fatal(err)
	}
	if err := os.Chown(full, uid, gid); err != nil {
		w.t.Fatal(err)
	}
	return full
}

func credHelpers(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		CredHelpers map[string]string `json:"credHelpers"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c.CredHelpers
}

// TestDockerConfigs: --docker-users points each user's Docker at gcrcred,
// keeping what the file had, its mode and owner; changes are reported (a
// repair too, by install and by the kubelet's boot hook); a config the
// user edited after install loses only gcrcred's entries, the ones it
// replaced come back.
func TestDockerConfigs(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "kicbase")
	original := "{\"auths\": {\"r.example\": {}},\n \"credHelpers\": {\"gcr.io\": \"gcloud\"}}"
	userCfg := w.write("home/docker/.docker/config.json", original, 0o644, 1000, 999)
	os.Chown(filepath.Dir(userCfg), 1000, 999)
	rootCfg := filepath.Join(w.n.Root, "root/.docker/config.json")
	before := w.n.Tree()

	w.install("--docker-users", "root,docker", "--registries", "registry.example.com,*.example.org")
	// A rerun rewrites nothing: not the Docker configs, nor what gcrcred
	// keeps about them, nor the record.
	stamps, record := w.n.Stamps(), w.record()
	if out := w.install("--docker-users", "root,docker", "--registries", "registry.example.com,*.example.org"); lastLine(out) != "unchanged" {
		t.Errorf("a rerun changed something:\n%s", out)
	}
	w.notRewritten("a rerun with --docker-users", stamps, record)
	for _, cfg := range []string{userCfg, rootCfg} {
		h := credHelpers(t, cfg)
		if h["gcr.io"] != "gcrcred" || h["us-docker.pkg.dev"] != "gcrcred" || h["registry.example.com"] != "gcrcred" || h["*.example.org"] != "" {
			t.Errorf("%s: credHelpers %v", cfg, h)
		}
	}
	if b, _ := os.ReadFile(userCfg); !strings.Contains(string(b), "r.example") {
		t.Errorf("the user's auths were lost:\n%s", b)
	}
	if fi, _ := os.Stat(userCfg); fi.Mode().Perm() != 0o644 || fi.Sys().(*syscall.Stat_t).Uid != 1000 {
		t.Errorf("docker's config.json is %v uid %d after the edit, want it as it was", fi.Mode(), fi.Sys().(*syscall.Stat_t).Uid)
	}

	// The docker user takes gcr.io back: install and the boot hook put it
	// right and say so (they once counted their changes on a copy and said
	// "unchanged").
	for _, repair := range [][]string{
		{"boot", "--docker-users", "root,docker"},
		{"install", "--kubelet-settle", "0s", "--docker-users", "root,docker", "--registries", "registry.example.com,*.example.org"},
	} {
		w.write("home/docker/.docker/config.json", `{"credHelpers": {"gcr.io": "gcloud"}}`, 0o644, 1000, 999)
		out := w.must(repair[0], repair[1:]...)
		if strings.Contains(out, "unchanged") || !strings.Contains(out, "/home/docker/.docker/config.json") {
			t.Errorf("node %s repaired the docker user's config without saying so:\n%s", repair[0], out)
		}
		if credHelpers(t, userCfg)["gcr.io"] != "gcrcred" {
			t.Errorf("node %s did not repair the config", repair[0])
		}
	}

	// Edited by its user since: only gcrcred's entries go.
	b, _ := os.ReadFile(rootCfg)
	var doc map[string]any
	json.Unmarshal(b, &doc)
	doc["psFormat"] = "table"
	b, _ = json.Marshal(doc)
	w.write("root/.docker/config.json", string(b), 0o600, 0, 0)
	w.must("uninstall", "--kubelet-settle", "0s")
	var got struct {
		PsFormat    string
		CredHelpers map[string]string
	}
	b, _ = os.ReadFile(rootCfg)
	if json.Unmarshal(b, &got) != nil || got.PsFormat != "table" || len(got.CredHelpers) != 0 {
		t.Errorf("root's edited config after uninstall:\n%s", b)
	}
	os.RemoveAll(filepath.Dir(rootCfg))
	if b, _ := os.ReadFile(userCfg); string(b) != original {
		t.Errorf("docker's config after uninstall:\n%s\nwant\n%s", b, original)
	}
	w.sameTree("install, repairs, uninstall", before)
}

// TestBootActsOnlyWhereTheKubeletUsesGcrcred: file sync hands gcrcred's
// files to every profile; the boot hook does nothing where the kubelet
// lacks the flags.
func TestBootActsOnlyWhereTheKubeletUsesGcrcred(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "kicbase")
	w.write("etc/gcrcred/credentials.json", "{}", 0o600, 0, 0)
	before := w.n.Tree()
	if out := w.must("boot", "--docker-users", "root,docker"); !strings.Contains(out, "nothing to do") {
		t.Errorf("boot on a kubelet without gcrcred's flags:\n%s", out)
	}
	w.sameTree("boot without the flags", before)

	// With the flags: what file sync loses comes back (the credentials'
	// group, the Docker configs, the token caches).
	w.install("--docker-users", "root,docker")
	creds := filepath.Join(w.n.Root, "etc/gcrcred/credentials.json")
	os.Chown(creds, 0, 0)
	os.Chmod(creds, 0o600)
	os.RemoveAll(filepath.Join(w.n.Root, "root/.docker"))
	os.RemoveAll(filepath.Join(w.n.Root, "var/lib/gcrcred/cache/1000"))
	out := w.must("boot", "--docker-users", "root,docker")
	for _, want := range []string{"/etc/gcrcred/credentials.json  0640 root:docker", "/root/.docker/config.json", "/var/lib/gcrcred/cache/1000"} {
		if !strings.Contains(out, want) {
			t.Errorf("boot does not say %q:\n%s", want, out)
		}
	}
	if out := w.must("boot", "--docker-users", "root,docker"); lastLine(out) != "unchanged" {
		t.Errorf("a second boot changed something:\n%s", out)
	}
}

// TestSymlinkPlantedByAUserIsRefused: root writes into a user's home only
// through internal/dockerconfig, and never through a link the user planted.
func TestSymlinkPlantedByAUserIsRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "kicbase")
	shadow := w.write("etc/shadow", "root:*:1::::::\n", 0o600, 0, 0)
	dir := filepath.Join(w.n.Root, "home/docker/.docker")
	os.MkdirAll(dir, 0o700)
	os.Chown(dir, 1000, 999)
	link := filepath.Join(dir, "config.json")
	if err := os.Symlink("/etc/shadow", link); err != nil {
		t.Fatal(err)
	}
	os.Lchown(link, 1000, 999)
	out, code := w.gcrcred("install", "--credentials", w.key, "--kubelet-settle", "0s", "--docker-users", "docker")
	if code == 0 || !strings.Contains(out, "symbolic link") {
		t.Errorf("install through a planted link: exit %d\n%s", code, out)
	}
	if b, _ := os.ReadFile(shadow); string(b) != "root:*:1::::::\n" {
		t.Errorf("/etc/shadow was written:\n%s", b)
	}
}

// TestDockerDirectoryLinkPlantedByAUserIsRefused: a user who links their
// ~/.docker to root's gets root's config neither read nor written.
func TestDockerDirectoryLinkPlantedByAUserIsRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "kicbase")
	const rootConfig = `{"auths":{"root.example":{"auth":"cm9vdA=="}}}`
	rootFile := w.write("root/.docker/config.json", rootConfig, 0o600, 0, 0)
	link := filepath.Join(w.n.Root, "home/docker/.docker")
	os.RemoveAll(link)
	if err := os.Symlink("/root/.docker", link); err != nil {
		t.Fatal(err)
	}
	os.Lchown(link, 1000, 999)
	out, code := w.gcrcred("install", "--credentials", w.key, "--kubelet-settle", "0s", "--docker-users", "docker")
	if code == 0 || !strings.Contains(out, "symbolic link") {
		t.Errorf("install through a planted directory link: exit %d\n%s", code, out)
	}
	if b, _ := os.ReadFile(rootFile); string(b) != rootConfig {
		t.Errorf("root's config.json was changed:\n%s", b)
	}
}

// TestUninstallWithoutTheRecord: a VM node's root is in RAM; after a
// restart file sync brings gcrcred's files back, not its record. Uninstall
// then takes out what is gcrcred's by name and content.
func TestUninstallWithoutTheRecord(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "buildroot")
	w.install("--docker-users", "root,docker")
	os.RemoveAll(filepath.Join(w.n.Root, "var/lib/gcrcred"))
	out := w.must("uninstall", "--kubelet-settle", "0s")
	if !strings.Contains(out, "no install record") {
		t.Errorf("uninstall without a record does not say so:\n%s", out)
	}
	for p := range w.n.Tree() {
		if strings.Contains(p, "gcrcred") {
			t.Errorf("%s left after uninstall", p)
		}
	}
	if args := w.n.KubeletArgs(); args == nil || args["image-credential-provider-config"] != "" {
		t.Errorf("the kubelet runs with %v after uninstall", args)
	}
	if h := credHelpers(t, filepath.Join(w.n.Root, "root/.docker/config.json")); len(h) != 0 {
		t.Errorf("root's Docker config kept %v", h)
	}
}

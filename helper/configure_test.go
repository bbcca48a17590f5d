package helper

import (
	"bytes"
	"encoding/json"
	"github.com/gcrcred/gcrcred/internal/settings"
	"github.com/gcrcred/gcrcred/test/testbin"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/dockerconfig"
)

const existingConfig = `{
	"auths": {"https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNz"}},
	"credsStore": "desktop",
	"credHelpers": {"123456789.dkr.ecr.us-east-1.amazonaws.com": "ecr-login", "gcr.io": "gcloud"},
	"experimental": "enabled",
	"proxies": {"default": {"httpProxy": "http://proxy.example:3128", "noProxy": "localhost"}},
	"someFutureKey": [1, 2.50, {"nested": true}]
}
`

func configure(t *testing.T, s settings.Settings, args ...string) (stdout string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := cli.RunAlone(ConfigureDockerCommand(), s, args, nil, &out, &errb); code != 0 {
		t.Fatalf("configure-docker %v: exit %d: %s", args, code, errb.String())
	}
	return out.String()
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestConfigureDockerKeepsEverythingElse(t *testing.T) {
	dir := t.TempDir()
	s := testbin.Settings(t, "DOCKER_CONFIG="+dir)
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte(existingConfig), 0o640); err != nil {
		t.Fatal(err)
	}
	var before map[string]any
	json.Unmarshal([]byte(existingConfig), &before)

	configure(t, s, "--registries", "gcr.io,https://europe-west1-docker.pkg.dev,us.gcr.io")
	after := readJSON(t, path)
	for _, k := range []string{"auths", "credsStore", "experimental", "proxies", "someFutureKey"} {
		if !jsonEqual(before[k], after[k]) {
			t.Errorf("key %q changed: %v -> %v", k, before[k], after[k])
		}
	}
	helpers := after["credHelpers"].(map[string]any)
	want := map[string]any{
		"123456789.dkr.ecr.us-east-1.amazonaws.com": "ecr-login",
		"gcr.io":                      "gcrcred", // was gcloud: ours now
		"us.gcr.io":                   "gcrcred",
		"europe-west1-docker.pkg.dev": "gcrcred",
	}
	if !jsonEqual(helpers, want) {
		t.Fatalf("credHelpers = %v, want %v", helpers, want)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode changed to %v", fi.Mode().Perm())
	}

	// A second run changes nothing, not even the file's time.
	b1, _ := os.ReadFile(path)
	hourAgo := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, hourAgo, hourAgo); err != nil { // a rewrite would move it
		t.Fatal(err)
	}
	fi1, _ := os.Stat(path)
	if out := configure(t, s, "--registries", "gcr.io,europe-west1-docker.pkg.dev,us.gcr.io"); !bytes.Contains([]byte(out), []byte("already up to date")) {
		t.Fatalf("second run said %q", out)
	}
	b2, _ := os.ReadFile(path)
	fi2, _ := os.Stat(path)
	if !bytes.Equal(b1, b2) || !fi1.ModTime().Equal(fi2.ModTime()) {
		t.Fatal("second run rewrote the file")
	}

	// --remove takes out only our entries.
	configure(t, s, "--remove")
	after = readJSON(t, path)
	if !jsonEqual(after["credHelpers"], map[string]any{"123456789.dkr.ecr.us-east-1.amazonaws.com": "ecr-login"}) {
		t.Fatalf("after --remove credHelpers = %v", after["credHelpers"])
	}
	for _, k := range []string{"auths", "credsStore", "experimental", "proxies", "someFutureKey"} {
		if !jsonEqual(before[k], after[k]) {
			t.Errorf("--remove changed key %q", k)
		}
	}
}

func TestConfigureDockerNewFileAndDefaults(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", ".docker")
	s := testbin.Settings(t, "DOCKER_CONFIG="+dir)
	configure(t, s)
	path := filepath.Join(dir, "config.json")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("new config mode %v, want 0600", fi.Mode().Perm())
	}
	helpers := readJSON(t, path)["credHelpers"].(map[string]any)
	for _, h := range dockerconfig.DefaultHosts {
		if helpers[h] != "gcrcred" {
			t.Fatalf("default registry %s missing: %v", h, helpers)
		}
	}
	configure(t, s, "--remove", "--registries", "gcr.io")
	helpers = readJSON(t, path)["credHelpers"].(map[string]any)
	if _, ok := helpers["gcr.io"]; ok || helpers["us.gcr.io"] != "gcrcred" {
		t.Fatalf("--remove --registries gcr.io: %v", helpers)
	}
	configure(t, s, "--remove")
	if _, ok := readJSON(t, path)["credHelpers"]; ok {
		t.Fatal("empty credHelpers left behind")
	}
}

func TestConfigureDockerRefusesBrokenConfig(t *testing.T) {
	dir := t.TempDir()
	s := testbin.Settings(t, "DOCKER_CONFIG="+dir)
	path := filepath.Join(dir, "config.json")
	os.WriteFile(path, []byte(`{"auths": `), 0o600)
	var out, errb bytes.Buffer
	if code := cli.RunAlone(ConfigureDockerCommand(), s, nil, nil, &out, &errb); code == 0 {
		t.Fatal("accepted a broken config.json")
	}
	if b, _ := os.ReadFile(path); string(b) != `{"auths": ` {
		t.Fatal("broken config.json was overwritten")
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

package minikubecli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// A profile config as minikube writes it, with a key no version of gcrcred knows.
const profileJSON = `{
    "Name": "p",
    "Memory": 2200,
    "KubernetesConfig": {
        "KubernetesVersion": "v1.37.2",
        "ExtraOptions": [
            {
                "Component": "kubelet",
                "Key": "max-pods",
                "Value": "50"
            }
        ],
        "ShouldLoadCachedImages": true
    },
    "Nodes": [{"Name": "", "IP": "192.168.49.2", "ControlPlane": true}],
    "FromTheFuture": {"b": 1, "a": [1, 2]}
}`

// ours are the kubelet options gcrcred saves.
var ours = []Option{
	{"image-credential-provider-config", "/etc/gcrcred/credential-provider.yaml"},
	{"image-credential-provider-bin-dir", "/usr/local/lib/gcrcred/bin"},
}

func writeProfile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExtraOptionsMergeKeepsEverythingElse(t *testing.T) {
	path := writeProfile(t, profileJSON)
	pc, err := ReadProfileConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if !pc.AddKubelet(ours) || pc.AddKubelet(ours) {
		t.Fatal("addOurs should change once, then not")
	}
	if err := pc.Write(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	opts := got["KubernetesConfig"].(map[string]any)["ExtraOptions"].([]any)
	if len(opts) != 3 || opts[0].(map[string]any)["Key"] != "max-pods" {
		t.Errorf("ExtraOptions = %v", opts)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the file's own 0640", fi.Mode())
	}
	if !strings.Contains(string(b), `"FromTheFuture": {`) || strings.Index(string(b), `"Nodes"`) > strings.Index(string(b), `"FromTheFuture"`) {
		t.Errorf("unknown key lost or keys reordered:\n%s", b)
	}

	pc, _ = ReadProfileConfig(path)
	if !pc.HasKubelet(ours) || !pc.RemoveKubelet(ours) || pc.RemoveKubelet(ours) {
		t.Fatal("removeOurs should change once, then not")
	}
	if err := pc.Write(); err != nil {
		t.Fatal(err)
	}
	var before, after map[string]any
	json.Unmarshal([]byte(profileJSON), &before)
	b, _ = os.ReadFile(path)
	json.Unmarshal(b, &after)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("add then remove changed the profile:\n%s", b)
	}
}

func TestExtraOptionsConflicts(t *testing.T) {
	path := writeProfile(t, strings.Replace(profileJSON, `"max-pods"`, `"image-credential-provider-config"`, 1))
	pc, err := ReadProfileConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if c := pc.Conflicts(ours); len(c) != 1 || !strings.Contains(c[0], "=50") {
		t.Errorf("conflicts = %v", c)
	}
	if pc.RemoveKubelet(ours) {
		t.Error("removeOurs removed an option with another value")
	}
}

func TestNoExtraOptionsIsNull(t *testing.T) {
	path := writeProfile(t, `{"Name":"p","KubernetesConfig":{"ExtraOptions":null}}`)
	pc, err := ReadProfileConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	pc.AddKubelet(ours)
	pc.RemoveKubelet(ours)
	if err := pc.Write(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), `"ExtraOptions": null`) {
		t.Errorf("empty ExtraOptions should be null, as minikube writes it:\n%s", b)
	}
}

func TestBrokenProfileConfig(t *testing.T) {
	if _, err := ReadProfileConfig(writeProfile(t, `{"Name": `)); err == nil || !strings.Contains(err.Error(), "minikube start") {
		t.Errorf("err = %v", err)
	}
}

func TestHome(t *testing.T) {
	for env, want := range map[string]string{
		"":                "/home/u/.minikube",
		"/data/mk":        "/data/mk/.minikube",
		"/data/.minikube": "/data/.minikube",
	} {
		if got := HomeOf(env, "/home/u"); string(got) != want {
			t.Errorf("MINIKUBE_HOME=%q: %q, want %q", env, got, want)
		}
	}
	h := HomeOf("/m", "/home/u")
	if h.FileSyncDir() != "/m/.minikube/files" || h.ProfileConfigPath("x") != "/m/.minikube/profiles/x/config.json" {
		t.Errorf("paths: %s %s", h.FileSyncDir(), h.ProfileConfigPath("x"))
	}
}

func TestDefaultProfile(t *testing.T) {
	dir := t.TempDir()
	h := HomeOf(dir, "")
	if p := h.DefaultProfile(""); p != "minikube" {
		t.Errorf("default profile %q", p)
	}
	os.MkdirAll(filepath.Join(dir, ".minikube", "config"), 0o755)
	os.WriteFile(filepath.Join(dir, ".minikube", "config", "config.json"), []byte(`{"profile":"dev"}`), 0o644)
	if p := h.DefaultProfile(""); p != "dev" {
		t.Errorf("`minikube profile dev` not honoured: %q", p)
	}
	if p := h.DefaultProfile("env"); p != "env" {
		t.Errorf("MINIKUBE_PROFILE not honoured: %q", p)
	}
}

func TestParseStatus(t *testing.T) {
	var sts []NodeStatus
	if err := ParseStatus(`{"Name":"minikube","Host":"Running","Kubelet":"Running"}`, &sts); err != nil || len(sts) != 1 || sts[0].Host != "Running" {
		t.Errorf("one node: %v %v", sts, err)
	}
	if err := ParseStatus(`[{"Name":"a","Host":"Running"},{"Name":"a-m02","Host":"Stopped","Worker":true}]`+"\n", &sts); err != nil || len(sts) != 2 || !sts[1].Worker {
		t.Errorf("two nodes: %v %v", sts, err)
	}
	if err := ParseStatus("🤷  Profile \"x\" not found.", &sts); err == nil {
		t.Error("parsed minikube's prose as JSON")
	}
}

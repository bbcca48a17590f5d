package minikube_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/test/testbin"
)

// gcloudOnly is the environment of a host where the gcloud CLI is logged in
// but has no application default credentials: a gcloud on PATH (never run
// by discovery) and its configuration naming an account.
func gcloudOnly(t *testing.T, path string) []string {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gcloud-config")
	must(t, os.MkdirAll(filepath.Join(cfg, "configurations"), 0o755))
	must(t, os.WriteFile(filepath.Join(cfg, "active_config"), []byte("default\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(cfg, "configurations", "config_default"), []byte("[core]\naccount = someone@example.com\n"), 0o644))
	must(t, os.MkdirAll(filepath.Join(dir, "bin"), 0o755))
	must(t, testbin.WriteProgram(filepath.Join(dir, "bin", "gcloud"), []byte("#!/bin/sh\nexit 1\n")))
	return []string{"CLOUDSDK_CONFIG=" + cfg, "PATH=" + filepath.Join(dir, "bin") + ":" + path}
}

// TestPreflightRefusals: each refusal says what is wrong and what to run,
// and changes nothing.
func TestPreflightRefusals(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "pre", "kicbase/x86_64")
	extKey, _, err := w.g.WriteExternalAccount(t.TempDir(), "wif")
	if err != nil {
		t.Fatal(err)
	}
	gcloud := gcloudOnly(t, w.c.Path())
	before := w.state()
	install := []string{"install", "-p", w.c.Profile, "--dist", w.dist}
	withKey := append(append([]string{}, install...), "--credentials", w.key)

	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"no minikube on PATH", []string{"PATH=" + t.TempDir()}, withKey,
			[]string{"minikube is not on PATH", "minikube.sigs.k8s.io"}},
		{"no such profile", nil, []string{"install", "-p", "nope", "--credentials", w.key, "--dist", w.dist},
			[]string{`profile "nope" not found`, "minikube profile list"}},
		{"only a metadata server", []string{"GCE_METADATA_HOST=" + w.g.MetadataHost()}, install,
			[]string{"metadata server", "--credentials", "gcloud auth application-default login"}},
		{"federation reading a host file", nil, append(append([]string{}, install...), "--credentials", extKey),
			[]string{"subject token", "service-account key"}},
		{"only the gcloud CLI", gcloud, install,
			[]string{"gcloud CLI", "gcloud auth application-default login"}},
		{"no credentials at all", nil, install,
			[]string{"no Google credentials found", "gcloud auth application-default login"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code := w.gcrcred(tc.env, tc.args...)
			if code == 0 {
				t.Fatalf("install succeeded:\n%s", out)
			}
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("output does not mention %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "PRIVATE KEY") {
				t.Errorf("output shows a key:\n%s", out)
			}
		})
	}
	w.sameState("refused installs", before, w.state())

	w.c.Minikube("stop")
	out, code := w.gcrcred(nil, withKey...)
	if code == 0 || !strings.Contains(out, "not running") || !strings.Contains(out, "minikube start -p "+w.c.Profile) {
		t.Errorf("install on a stopped profile: exit %d:\n%s", code, out)
	}
	if out, code := w.gcrcred(nil, "status", "-p", w.c.Profile); code == 0 {
		t.Errorf("status on a stopped profile exit 0:\n%s", out)
	}
}

// TestStatusFindsProblemsAndInstallRepairs: status names what broke (a
// credentials file opened to everyone, a kubelet restarted without the
// flags, the saved extra-config gone) and exits 1; install puts it right.
func TestStatusFindsProblemsAndInstallRepairs(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "repair", "kicbase/x86_64")
	w.install()
	node := w.c.NodeNames()[0]
	must(t, os.Chmod(filepath.Join(w.c.Root(node), "etc/gcrcred/credentials.json"), 0o644))
	w.c.Minikube("ssh", "-n", node, "--", "sudo sed -i 's/ --image-credential-provider[^ ]*//g' /etc/systemd/system/kubelet.service.d/10-kubeadm.conf && sudo systemctl daemon-reload && sudo systemctl restart kubelet")
	doc := w.c.ProfileConfig()
	kube := doc["KubernetesConfig"].(map[string]any)
	kube["ExtraOptions"] = []any{map[string]any{"Component": "kubelet", "Key": "max-pods", "Value": "50"}}
	b, _ := json.Marshal(doc)
	must(t, os.WriteFile(w.c.ProfileConfigPath(), b, 0o644))

	out, code := w.gcrcred(nil, "status", "-p", w.c.Profile)
	if code != 1 {
		t.Errorf("status exit %d, want 1", code)
	}
	for _, want := range []string{"PROBLEM credentials", "PROBLEM kubelet", "PROBLEM extra-config", "3 problem(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("status does not say %q:\n%s", want, out)
		}
	}
	w.install()
	w.checkAllNodes()
}

// TestDryRunWithoutMinikubeOrCredentials: with neither minikube nor
// credentials, --dry-run still prints every file the nodes would get, then
// everything missing at once, each with its fix; --help needs nothing.
func TestDryRunWithoutMinikubeOrCredentials(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "bare", "kicbase/x86_64")
	env := []string{"PATH=" + t.TempDir()} // a PATH of nothing, whatever this machine has
	out, code := w.gcrcred(env, "install", "-p", w.c.Profile, "--dry-run")
	if code != 1 {
		t.Errorf("dry run with things missing: exit %d", code)
	}
	for _, want := range []string{
		nodelayout.Binary, nodelayout.Command, nodelayout.DockerHelper, nodelayout.Credentials, nodelayout.ProviderConfig, nodelayout.BootDropIn,
		"Missing (2)", "minikube is not on PATH", "minikube.sigs.k8s.io", "no Google credentials found", "gcloud auth application-default login",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the dry run does not say %q:\n%s", want, out)
		}
	}
	// Each verb's help names its own flags (install's --credentials is not
	// status's); the command's lists its verbs.
	for _, c := range []struct {
		args      []string
		want, not string
	}{
		{[]string{"install", "--help"}, "--credentials FILE", ""},
		{[]string{"--help"}, "uninstall", "--credentials"},
		{[]string{"status", "--help"}, "-p, --profile NAME", "--credentials"},
	} {
		out, code := w.gcrcred(env, c.args...)
		if code != 0 || !strings.Contains(out, c.want) || c.not != "" && strings.Contains(out, c.not) {
			t.Errorf("gcrcred minikube %v without minikube: exit %d\n%s", c.args, code, out)
		}
	}
	out, code = w.gcrcred(env, "install", "--bogus")
	if code != 2 || !strings.Contains(out, "--bogus") || !strings.Contains(out, "Run `gcrcred minikube install --help`") || strings.Contains(out, "Flags:") {
		t.Errorf("a usage error: exit %d\n%s", code, out)
	}
}

package provider

import (
	"bytes"
	"encoding/json"
	"github.com/gcrcred/gcrcred/internal/settings"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/kubeletapi"
	"github.com/gcrcred/gcrcred/internal/registries"
)

func decodeConfig(t *testing.T, y []byte) kubeletapi.CredentialProviderConfig {
	t.Helper()
	var cfg kubeletapi.CredentialProviderConfig
	if err := yaml.UnmarshalStrict(y, &cfg); err != nil {
		t.Fatalf("config does not decode: %v\n%s", err, y)
	}
	return cfg
}

func TestKubeletConfigDefaults(t *testing.T) {
	y, err := KubeletConfig(ConfigOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := decodeConfig(t, y)
	if cfg.APIVersion != "kubelet.config.k8s.io/v1" || cfg.Kind != "CredentialProviderConfig" || len(cfg.Providers) != 1 {
		t.Fatalf("config header wrong:\n%s", y)
	}
	p := cfg.Providers[0]
	if p.Name != "gcrcred" || p.APIVersion != kubeletapi.APIVersionV1 || strings.Join(p.Args, " ") != "get-credentials" {
		t.Fatalf("provider wrong: %+v", p)
	}
	if p.DefaultCacheDuration == nil || p.DefaultCacheDuration.Duration != 55*time.Minute {
		t.Fatalf("defaultCacheDuration %v, want 55m", p.DefaultCacheDuration)
	}
	if !bytes.Contains(y, []byte("defaultCacheDuration: 55m0s")) {
		t.Fatalf("duration not written as metav1.Duration does:\n%s", y)
	}
	if strings.Join(p.MatchImages, ",") != strings.Join(registries.Default, ",") {
		t.Fatalf("matchImages %v, want %v", p.MatchImages, registries.Default)
	}
	if len(p.Env) != 0 {
		t.Fatalf("env %v, want none when nothing is given", p.Env)
	}
}

func TestKubeletConfigCarriesOptionsIntoEnv(t *testing.T) {
	y, err := KubeletConfig(ConfigOptions{
		APIVersion:           "v1alpha1",
		CredentialsFile:      "/etc/gcrcred/credentials.json",
		CacheDir:             "/var/cache/gcrcred",
		Registries:           []string{"registry.example.com:5000", "gcr.io", "*.example.org"},
		DefaultCacheDuration: 10 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := decodeConfig(t, y).Providers[0]
	if p.APIVersion != kubeletapi.APIVersionV1alpha1 || p.DefaultCacheDuration.Duration != 10*time.Minute {
		t.Fatalf("provider %+v", p)
	}
	if !strings.Contains(string(y), "apiVersion: kubelet.config.k8s.io/v1alpha1\n") {
		t.Fatalf("a v1alpha1 kubelet (1.20-1.23) reads only kubelet.config.k8s.io/v1alpha1 configs:\n%s", y)
	}
	env := map[string]string{}
	for _, e := range p.Env {
		env[e.Name] = e.Value
	}
	want := map[string]string{
		"GCRCRED_CREDENTIALS": "/etc/gcrcred/credentials.json",
		"GCRCRED_CACHE_DIR":   "/var/cache/gcrcred",
		"GCRCRED_REGISTRIES":  "registry.example.com:5000,*.example.org", // gcr.io is a default already
	}
	if b1, b2 := mustJSON(env), mustJSON(want); b1 != b2 {
		t.Fatalf("env %s, want %s", b1, b2)
	}
	if got := strings.Join(p.MatchImages, ","); !strings.HasSuffix(got, ",registry.example.com:5000,*.example.org") {
		t.Fatalf("matchImages %s lack the extras", got)
	}
}

func TestKubeletConfigRefusesWhatTheKubeletWouldNot(t *testing.T) {
	cases := []struct {
		name string
		o    ConfigOptions
		want string
	}{
		{"api version", ConfigOptions{APIVersion: "v2"}, "unknown credential provider API version"},
		{"relative credentials", ConfigOptions{CredentialsFile: "key.json"}, "must be an absolute path"},
		{"relative cache", ConfigOptions{CacheDir: "cache"}, "must be an absolute path"},
		{"negative duration", ConfigOptions{DefaultCacheDuration: -time.Second}, "negative"},
		{"bad glob", ConfigOptions{Registries: []string{"[.example.com"}}, `registry pattern "[.example.com"`},
		{"empty label", ConfigOptions{Registries: []string{"a..example.com"}}, "bad label"},
	}
	for _, c := range cases {
		if _, err := KubeletConfig(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestNormalizeAPIVersion(t *testing.T) {
	for in, want := range map[string]string{
		"":         kubeletapi.APIVersionV1,
		"v1":       kubeletapi.APIVersionV1,
		"v1beta1":  kubeletapi.APIVersionV1beta1,
		"v1alpha1": kubeletapi.APIVersionV1alpha1,
		"credentialprovider.kubelet.k8s.io/v1beta1": kubeletapi.APIVersionV1beta1,
	} {
		if got, err := kubeletapi.NormalizeAPIVersion(in); got != want || err != nil {
			t.Errorf("NormalizeAPIVersion(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func runKubeletConfig(s settings.Settings, args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	code = cli.RunAlone(KubeletConfigCommand(), s, args, nil, &o, &e)
	return o.String(), e.String(), code
}

func TestRunKubeletConfigFlags(t *testing.T) {
	s := settings.Settings{Registries: "from-env.example.com"}

	out, errOut, code := runKubeletConfig(s, "--api-version", "v1beta1", "--credentials", "/k.json", "--bin-dir", "/opt/gcrcred/bin")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	p := decodeConfig(t, []byte(out)).Providers[0]
	if p.APIVersion != kubeletapi.APIVersionV1beta1 || !strings.Contains(strings.Join(p.MatchImages, ","), "from-env.example.com") {
		t.Fatalf("provider %+v", p)
	}
	if !strings.Contains(errOut, "--image-credential-provider-config=/etc/kubernetes/gcrcred-provider.yaml --image-credential-provider-bin-dir=/opt/gcrcred/bin") {
		t.Fatalf("kubelet flags not on stderr: %q", errOut)
	}

	out, _, code = runKubeletConfig(s, "--registries", "", "--bin-dir", "/b", "--config-path", "/etc/k/p.yaml", "--print-flags")
	if code != 0 || out != "--image-credential-provider-config=/etc/k/p.yaml --image-credential-provider-bin-dir=/b\n" {
		t.Fatalf("--print-flags: exit %d, stdout %q", code, out)
	}

	out, _, _ = runKubeletConfig(s, "--registries", "")
	if strings.Contains(out, "from-env") {
		t.Fatalf("--registries \"\" should override GCRCRED_REGISTRIES:\n%s", out)
	}
}

func TestRunKubeletConfigBadFlagsExit2(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--no-such-flag"}, "unknown flag --no-such-flag"},
		{[]string{"--api-version", "v9"}, "unknown credential provider API version"},
		{[]string{"--default-cache-duration", "soon"}, "invalid value"},
		{[]string{"--default-cache-duration", "-1m"}, "negative"},
		{[]string{"--default-cache-duration", "0s"}, "not allowed"},
		{[]string{"--credentials", "relative.json"}, "absolute"},
		{[]string{"--bin-dir", "bin"}, "absolute"},
		{[]string{"--print-flags"}, "needs --bin-dir"},
		{[]string{"extra"}, "unexpected argument"},
	}
	for _, c := range cases {
		out, errOut, code := runKubeletConfig(settings.Settings{}, c.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, out, firstLine(errOut), c.want)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// TestKubeletConfigIsWrittenAsBefore: the config is written as
// sigs.k8s.io/yaml (the kubelet's library, which gcrcred used to link) writes
// it, byte for byte, so a node's file is not rewritten by an upgrade.
func TestKubeletConfigIsWrittenAsBefore(t *testing.T) {
	for _, o := range []ConfigOptions{
		{},
		{APIVersion: "v1beta1", CredentialsFile: "/etc/gcrcred/credentials.json", CacheDir: "/var/cache/gcrcred", Registries: []string{"registry.example.com:5000", "*.example.org"}, TestLoopbackEndpoints: true},
		{ServiceAccountAudience: "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k", WorkloadIdentityFile: "/etc/gcrcred/workload-identity.json",
			RequireServiceAccount: true, PodIdentityMode: "all", SubjectMapping: "'c:'+assertion.sub"},
	} {
		got, err := KubeletConfig(o)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := Config(o)
		if err != nil {
			t.Fatal(err)
		}
		want, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		header, body, _ := strings.Cut(string(got), "\n")
		if !strings.HasPrefix(header, "# ") || body != string(want) {
			t.Errorf("%+v: wrote\n%s\nsigs.k8s.io/yaml writes (after a comment line)\n%s", o, got, want)
		}
	}
}

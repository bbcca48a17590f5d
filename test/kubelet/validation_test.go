package kubelet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/gcrcred/gcrcred/internal/kubeletapi"

	"k8s.io/kubernetes/pkg/credentialprovider/plugin"
)

// TestKubeletValidation: the kubelet's registration (decode, strict fields,
// validation, binary lookup) accepts the generated config for every API
// version and refuses hand-broken ones, so the acceptance means something.
func TestKubeletValidation(t *testing.T) {
	binDir, _ := pluginBinDir(t)
	good := kubeletConfig(t, "--credentials", "/etc/gcrcred/credentials.json", "--cache-dir", "/var/cache/gcrcred",
		"--registries", "registry.example.com:5000,*.example.org")

	t.Run("accepts generated", func(t *testing.T) {
		for _, v := range []string{"v1", "v1beta1", "v1alpha1"} {
			config := kubeletConfig(t, "--api-version", v)
			// In a process of its own: registration succeeds once per process.
			// The image matches no pattern, so the plugin never runs.
			if r := lookup(t, config, binDir, "-image", "quay.io/x/y"); r.code != 0 || r.out.Found {
				t.Fatalf("%s: kubelet refused the generated config (exit %d):\n%s", v, r.code, r.stderr)
			}
		}
		if r := lookup(t, good, binDir, "-image", "quay.io/x/y"); r.code != 0 {
			t.Fatalf("kubelet refused the generated config with every option (exit %d):\n%s", r.code, r.stderr)
		}
	})

	// Broken configs fail before registration touches global state, so they
	// can be tried in this process.
	cases := []struct {
		name string
		edit func(p *kubeletapi.CredentialProvider)
		raw  func(y string) string
		want string
	}{
		{name: "no matchImages", edit: func(p *kubeletapi.CredentialProvider) { p.MatchImages = nil }, want: "at least 1 item in matchImages is required"},
		{name: "bad apiVersion", edit: func(p *kubeletapi.CredentialProvider) { p.APIVersion = "credentialprovider.kubelet.k8s.io/v2" }, want: "Unsupported value"},
		{name: "no defaultCacheDuration", edit: func(p *kubeletapi.CredentialProvider) { p.DefaultCacheDuration = nil }, want: "defaultCacheDuration: Required value"},
		{name: "negative defaultCacheDuration", edit: func(p *kubeletapi.CredentialProvider) { p.DefaultCacheDuration.Duration = -1 }, want: "must be greater than or equal to 0"},
		{name: "name with slash", edit: func(p *kubeletapi.CredentialProvider) { p.Name = "bin/gcrcred" }, want: "provider name cannot contain '/'"},
		{name: "binary missing", edit: func(p *kubeletapi.CredentialProvider) { p.Name = "gcrcred-missing" }, want: "did not exist"},
		{name: "tokenAttributes on v1beta1", edit: func(p *kubeletapi.CredentialProvider) {
			p.APIVersion = kubeletapi.APIVersionV1beta1
			p.TokenAttributes = &kubeletapi.ServiceAccountTokenAttributes{ServiceAccountTokenAudience: "gcr", CacheType: "ServiceAccount", RequireServiceAccount: new(bool)}
		}, want: "tokenAttributes is only supported for"},
		{name: "unknown field", raw: func(y string) string { return strings.Replace(y, "matchImages:", "matchImage:", 1) }, want: `unknown field "providers[0].matchImage"`},
		{name: "wrong kind", raw: func(y string) string {
			return strings.Replace(y, "kind: CredentialProviderConfig", "kind: KubeletConfiguration", 1)
		}, want: "KubeletConfiguration"},
		{name: "wrong group", raw: func(y string) string {
			return strings.Replace(y, "apiVersion: kubelet.config.k8s.io/v1", "apiVersion: credentialprovider.kubelet.k8s.io/v1", 1)
		}, want: "no kind \"CredentialProviderConfig\" is registered"},
	}
	goodYAML, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run("refuses "+c.name, func(t *testing.T) {
			y := string(goodYAML)
			if c.edit != nil {
				var cfg kubeletapi.CredentialProviderConfig
				if err := yaml.UnmarshalStrict(goodYAML, &cfg); err != nil {
					t.Fatal(err)
				}
				c.edit(&cfg.Providers[0])
				b, err := yaml.Marshal(cfg)
				if err != nil {
					t.Fatal(err)
				}
				y = string(b)
			}
			if c.raw != nil {
				y = c.raw(y)
			}
			path := filepath.Join(t.TempDir(), "broken.yaml")
			if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
				t.Fatal(err)
			}
			err := plugin.RegisterCredentialProviderPlugins(path, binDir, nil, nil)
			if err == nil {
				t.Fatalf("the kubelet accepted a config with %s:\n%s", c.name, y)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("refused for another reason than %q: %v", c.want, err)
			}
		})
	}
}

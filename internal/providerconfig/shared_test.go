package providerconfig

import (
	"strings"
	"testing"
)

// A provider config shared with other providers keeps them, in its own
// format and version; taking gcrcred's out leaves them.
func TestSharedProviderConfig(t *testing.T) {
	yamlCfg := "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: CredentialProviderConfig\nproviders:\n- name: ecr\n  matchImages: [\"*.dkr.ecr.*.amazonaws.com\"]\n  defaultCacheDuration: 12h\n  apiVersion: credentialprovider.kubelet.k8s.io/v1beta1\n  extra: kept\n"
	jsonCfg := `{"apiVersion":"kubelet.config.k8s.io/v1","kind":"CredentialProviderConfig","providers":[{"name":"ecr","matchImages":["x"],"defaultCacheDuration":"1h","apiVersion":"credentialprovider.kubelet.k8s.io/v1"}]}`
	for name, in := range map[string]string{"yaml": yamlCfg, "json": jsonCfg} {
		t.Run(name, func(t *testing.T) {
			out, err := Merge([]byte(in), true, "c", Options{})
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse(out, "c")
			if err != nil || strings.Join(c.Names(), ",") != "ecr,gcrcred" || c.IsJSON() != (name == "json") {
				t.Fatalf("merged: %v %v\n%s", c.Names(), err, out)
			}
			if name == "yaml" && (strings.Count(string(out), "credentialprovider.kubelet.k8s.io/v1beta1") != 2 || !strings.Contains(string(out), "extra: kept")) {
				t.Errorf("the merge lost a field or the version:\n%s", out)
			}
			again, _ := Merge(out, true, "c", Options{})
			if string(again) != string(out) {
				t.Errorf("merging twice changed it:\n%s", again)
			}
			back, changed, empty, err := c.WithoutOurs()
			if err != nil || !changed || empty {
				t.Fatal(changed, empty, err)
			}
			if c2, _ := Parse(back, "c"); strings.Join(c2.Names(), ",") != "ecr" {
				t.Errorf("without gcrcred: %s", back)
			}
		})
	}
	whole, _ := Merge(nil, false, "c", Options{})
	if again, _ := Merge(whole, true, "c", Options{}); string(again) != string(whole) {
		t.Errorf("gcrcred's own file is not rewritten as its own:\n%s", again)
	}
}

// What the node reads back from gcrcred's provider in a config: the extra
// registries Docker gets, and per-pod identity.
func TestReadBack(t *testing.T) {
	cfg, err := Render(Options{Registries: []string{"registry.example.com", "*.example.org"}, ServiceAccountAudience: "aud",
		WorkloadIdentityFile: "/etc/gcrcred/workload-identity.json", RequireServiceAccount: true, PodIdentityMode: "all"})
	if err != nil {
		t.Fatal(err)
	}
	if got := DockerHosts(cfg, []string{"gcr.io"}); strings.Join(got, ",") != "gcr.io,registry.example.com" {
		t.Errorf("docker hosts %v", got)
	}
	p := PodSettingsOf(cfg)
	if p == nil || p.Audience != "aud" || p.File != "/etc/gcrcred/workload-identity.json" || !p.Require || p.Mode != "all" {
		t.Errorf("per-pod settings %+v", p)
	}
	if p := PodSettingsOf([]byte("not a config")); p != nil {
		t.Errorf("per-pod settings of garbage: %+v", p)
	}
}

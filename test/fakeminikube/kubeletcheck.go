package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// checkKubelet fails as the kubelet fails at start: its --config missing,
// or (pkg/credentialprovider/plugin) a provider config that is missing,
// invalid, or names a plugin the bin dir does not have; and, where the
// faults file names the unit, whenever it is given a provider config.
func checkKubelet(argv []string, unit string) error {
	if len(argv) == 0 {
		return fmt.Errorf("empty ExecStart")
	}
	flags := map[string]string{}
	for _, a := range argv[1:] {
		if k, v, ok := strings.Cut(strings.TrimLeft(a, "-"), "="); ok {
			flags[k] = v
		}
	}
	if c, ok := flags["config"]; ok {
		if _, err := os.Stat(c); err != nil {
			return fmt.Errorf("failed to load kubelet config file %q: %v", c, err)
		}
	}
	cfg := flags["image-credential-provider-config"]
	if cfg == "" {
		return nil
	}
	if faulty(unit) {
		return fmt.Errorf("fault injected: the kubelet of %s exits when given a credential provider config", unit)
	}
	if err := registerPlugins(cfg, flags["image-credential-provider-bin-dir"]); err != nil {
		return fmt.Errorf("Failed to register CRI auth plugins: %v", err)
	}
	return nil
}

type providerConfig struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Providers  []struct {
		Name                 string   `json:"name"`
		MatchImages          []string `json:"matchImages"`
		DefaultCacheDuration *string  `json:"defaultCacheDuration"`
		APIVersion           string   `json:"apiVersion"`
	} `json:"providers"`
}

func registerPlugins(configPath, binDir string) error {
	if _, err := os.Stat(binDir); err != nil {
		return fmt.Errorf("plugin binary directory %s did not exist", binDir)
	}
	files := []string{configPath}
	if fi, err := os.Stat(configPath); err != nil {
		return fmt.Errorf("error reading credential provider config %s: %v", configPath, err)
	} else if fi.IsDir() { // kubelet 1.37: a directory of configs, merged in name order
		files = nil
		for _, pat := range []string{"*.yaml", "*.yml", "*.json"} {
			m, _ := filepath.Glob(filepath.Join(configPath, pat))
			files = append(files, m...)
		}
		sort.Strings(files)
	}
	names := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var c providerConfig
		if err := yaml.Unmarshal(b, &c); err != nil {
			return fmt.Errorf("error decoding config %s: %v", f, err)
		}
		if c.Kind != "CredentialProviderConfig" || !strings.HasPrefix(c.APIVersion, "kubelet.config.k8s.io/") {
			return fmt.Errorf("%s: kind %q apiVersion %q is not a CredentialProviderConfig", f, c.Kind, c.APIVersion)
		}
		if len(c.Providers) == 0 {
			return fmt.Errorf("%s: at least 1 item in plugins is required", f)
		}
		for _, p := range c.Providers {
			switch {
			case p.Name == "" || strings.ContainsAny(p.Name, "/ ") || names[p.Name]:
				return fmt.Errorf("%s: bad or duplicate provider name %q", f, p.Name)
			case len(p.MatchImages) == 0:
				return fmt.Errorf("%s: provider %s: at least 1 item in matchImages is required", f, p.Name)
			case p.DefaultCacheDuration == nil:
				return fmt.Errorf("%s: provider %s: defaultCacheDuration is required", f, p.Name)
			case !strings.HasPrefix(p.APIVersion, "credentialprovider.kubelet.k8s.io/v1"):
				return fmt.Errorf("%s: provider %s: unsupported apiVersion %q", f, p.Name, p.APIVersion)
			}
			names[p.Name] = true
			bin := filepath.Join(binDir, p.Name)
			if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
				return fmt.Errorf("plugin binary executable %s did not exist", bin)
			}
		}
	}
	return nil
}

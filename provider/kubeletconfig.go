package provider

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/gcrcred/gcrcred/internal/cache"
	"github.com/gcrcred/gcrcred/internal/kubeletapi"
	"github.com/gcrcred/gcrcred/internal/registries"
)

// ProviderName is the provider's name in the config, and so the file name
// the kubelet runs from its --image-credential-provider-bin-dir.
const ProviderName = "gcrcred"

// ProviderArgs make the binary act as the exec plugin.
var ProviderArgs = []string{"get-credentials"}

// DefaultCacheDuration is the config's defaultCacheDuration: the lifetime of
// a Google access token (1 h) minus the cache margin. It applies only to
// answers without their own cacheDuration (json-key mode, registries not
// served); token answers carry the token's real remaining lifetime.
const DefaultCacheDuration = time.Hour - cache.Margin

// Where `gcrcred kubelet-config` assumes the files go unless told otherwise;
// the README's recipe uses the same paths.
const (
	DefaultConfigPath = "/etc/kubernetes/gcrcred-provider.yaml"
	DefaultBinDir     = "/usr/local/lib/gcrcred/bin"
)

// ConfigOptions shape the CredentialProviderConfig for this provider.
type ConfigOptions struct {
	APIVersion           string        // credentialprovider.kubelet.k8s.io/v1 (default), v1beta1 or v1alpha1; "v1" etc. also accepted
	CredentialsFile      string        // passed to the plugin as GCRCRED_CREDENTIALS via env; absolute
	CacheDir             string        // passed as GCRCRED_CACHE_DIR via env; absolute
	Registries           []string      // extra patterns beyond the defaults (checked by registries.CheckPattern); also passed as GCRCRED_REGISTRIES
	DefaultCacheDuration time.Duration // 0: DefaultCacheDuration
}

// configHeader is a YAML comment; the kubelet's decoder skips it.
const configHeader = "# CredentialProviderConfig for gcrcred, written by `gcrcred kubelet-config`.\n"

// KubeletConfig renders the CredentialProviderConfig YAML. Paths must be
// absolute: the kubelet runs the plugin from its own working directory. It
// reads no environment: callers pass GCRCRED_REGISTRIES in o.Registries.
func KubeletConfig(o ConfigOptions) ([]byte, error) {
	cfg, err := Config(o)
	if err != nil {
		return nil, err
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("rendering the kubelet config: %w", err)
	}
	return append([]byte(configHeader), out...), nil
}

// Config builds the CredentialProviderConfig that KubeletConfig renders.
func Config(o ConfigOptions) (*kubeletapi.CredentialProviderConfig, error) {
	apiVersion, err := kubeletapi.NormalizeAPIVersion(o.APIVersion)
	if err != nil {
		return nil, err
	}
	for _, p := range []struct{ what, path string }{
		{"credentials file", o.CredentialsFile},
		{"cache directory", o.CacheDir},
	} {
		if p.path != "" && !filepath.IsAbs(p.path) {
			return nil, fmt.Errorf("%s %q must be an absolute path: the kubelet runs the plugin from its own working directory", p.what, p.path)
		}
	}
	cacheFor := o.DefaultCacheDuration
	switch {
	case cacheFor < 0:
		return nil, fmt.Errorf("default cache duration %s is negative: the kubelet refuses that", cacheFor)
	case cacheFor == 0:
		cacheFor = DefaultCacheDuration
	}
	var extra []string
	for _, p := range o.Registries {
		n, err := registries.CheckPattern(p)
		if err != nil {
			return nil, err
		}
		extra = append(extra, n)
	}
	set := registries.With(extra)
	extra = set.Extra()

	var env []kubeletapi.ExecEnvVar
	if o.CredentialsFile != "" {
		env = append(env, kubeletapi.ExecEnvVar{Name: "GCRCRED_CREDENTIALS", Value: o.CredentialsFile})
	}
	if o.CacheDir != "" {
		env = append(env, kubeletapi.ExecEnvVar{Name: "GCRCRED_CACHE_DIR", Value: o.CacheDir})
	}
	if len(extra) > 0 {
		// The plugin answers only for registries it serves; without this the
		// kubelet would ask it about the extra ones and get empty answers.
		env = append(env, kubeletapi.ExecEnvVar{Name: registries.EnvExtra, Value: strings.Join(extra, ",")})
	}
	return &kubeletapi.CredentialProviderConfig{
		TypeMeta: kubeletapi.TypeMeta{Kind: kubeletapi.KindConfig, APIVersion: ConfigAPIVersion(apiVersion)},
		Providers: []kubeletapi.CredentialProvider{{
			Name:                 ProviderName,
			MatchImages:          append([]string{}, set...),
			DefaultCacheDuration: &kubeletapi.Duration{Duration: cacheFor},
			APIVersion:           apiVersion,
			Args:                 append([]string{}, ProviderArgs...),
			Env:                  env,
		}},
	}, nil
}

// ConfigAPIVersion is the CredentialProviderConfig version for a kubelet
// that speaks the given exec API version: the two moved together
// (kubelet.config.k8s.io/v1alpha1 from 1.20, v1beta1 from 1.24, v1 from
// 1.26), so a 1.25 kubelet cannot read a kubelet.config.k8s.io/v1 file.
func ConfigAPIVersion(execAPIVersion string) string {
	_, version, _ := strings.Cut(execAPIVersion, "/")
	return kubeletapi.KubeletConfigGroup + "/" + version
}

// KubeletFlags are the two kubelet flags that wire the provider in.
func KubeletFlags(configPath, binDir string) []string {
	return []string{
		"--image-credential-provider-config=" + configPath,
		"--image-credential-provider-bin-dir=" + binDir,
	}
}

// Package providerconfig is gcrcred's provider in a kubelet
// CredentialProviderConfig: the config `gcrcred kubelet-config` prints and
// `gcrcred node install` writes (New, Render), the checks of what goes into
// it, and gcrcred's provider merged into (or taken out of) a config that
// other providers share (shared.go). It reads no environment: callers pass
// what the environment says.
package providerconfig

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/cache"
	"github.com/gcrcred/gcrcred/internal/endpoint"
	"github.com/gcrcred/gcrcred/internal/kubeletapi"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/internal/podidentity"
	"github.com/gcrcred/gcrcred/internal/registries"
	"github.com/gcrcred/gcrcred/internal/yamlfile"
)

// ProviderArgs make the binary act as the exec plugin.
var ProviderArgs = []string{"get-credentials"}

// DefaultCacheDuration is the config's defaultCacheDuration: the lifetime of
// a Google access token (1 h) minus the cache margin. It applies only to
// answers without their own cacheDuration (json-key mode, registries not
// served); token answers carry the token's real remaining lifetime.
const DefaultCacheDuration = time.Hour - cache.Margin

// Options shape the CredentialProviderConfig for gcrcred's provider.
type Options struct {
	APIVersion           string        // credentialprovider.kubelet.k8s.io/v1 (default), v1beta1 or v1alpha1; "v1" etc. also accepted
	CredentialsFile      string        // passed to the plugin as GCRCRED_CREDENTIALS via env; absolute
	CacheDir             string        // passed as GCRCRED_CACHE_DIR via env; absolute
	Registries           []string      // extra patterns beyond the defaults (checked by registries.CheckPattern); also passed as GCRCRED_REGISTRIES
	DefaultCacheDuration time.Duration // 0: DefaultCacheDuration

	// Per-pod identity (kubelet service-account tokens, KEP-4412): the
	// kubelet passes each pod's service-account token for this audience,
	// and the plugin exchanges it with the workload identity configuration.
	// Audience and file go together, and need APIVersion v1. Empty: off.
	ServiceAccountAudience string // tokenAttributes.serviceAccountTokenAudience; the API server must let kubelets request it (RBAC)
	WorkloadIdentityFile   string // the credential configuration's absolute path on the node, passed as GCRCRED_WORKLOAD_IDENTITY
	// WorkloadIdentityConfig is that file's content, checked with
	// CheckWorkloadIdentityConfig when non-nil (installers pass what they
	// copy to WorkloadIdentityFile; `kubelet-config` reads the file).
	WorkloadIdentityConfig []byte
	// RequireServiceAccount: the kubelet runs the plugin only for pods with
	// a service account, and the plugin refuses requests without a token
	// (GCRCRED_REQUIRE_SERVICE_ACCOUNT=true), and those of pods that would
	// pull with the node's credentials, instead of answering with them.
	RequireServiceAccount bool
	// PodIdentityMode is GCRCRED_POD_IDENTITY: podidentity.ModeAnnotated
	// (also for "") or ModeAll.
	PodIdentityMode string
	// SubjectMapping is the pool provider's google.subject mapping, passed
	// as GCRCRED_SUBJECT_MAPPING when not the default.
	SubjectMapping string
	// TestLoopbackEndpoints passes the test switch
	// GCRCRED_TEST_LOOPBACK_ENDPOINTS=1 on to the plugin (internal/endpoint):
	// callers set it only when the switch is set where they run, so a
	// config written outside gcrcred's tests never has it.
	TestLoopbackEndpoints bool
}

// header is a YAML comment; the kubelet's decoder skips it.
const header = "# CredentialProviderConfig for gcrcred, written by `gcrcred kubelet-config`.\n"

// Render is the CredentialProviderConfig as YAML. Paths must be absolute:
// the kubelet runs the plugin from its own working directory.
func Render(o Options) ([]byte, error) {
	cfg, err := New(o)
	if err != nil {
		return nil, err
	}
	out, err := yamlfile.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("rendering the kubelet config: %w", err)
	}
	return append([]byte(header), out...), nil
}

// New builds the CredentialProviderConfig that Render renders.
func New(o Options) (*kubeletapi.CredentialProviderConfig, error) {
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
	set, err := matchImages(o.Registries)
	if err != nil {
		return nil, err
	}
	tokenAttrs, err := tokenAttributes(o, apiVersion)
	if err != nil {
		return nil, err
	}
	return &kubeletapi.CredentialProviderConfig{
		TypeMeta: kubeletapi.TypeMeta{Kind: kubeletapi.KindConfig, APIVersion: ConfigAPIVersion(apiVersion)},
		Providers: []kubeletapi.CredentialProvider{{
			Name:                 nodelayout.PluginName,
			MatchImages:          append([]string{}, set...),
			DefaultCacheDuration: &kubeletapi.Duration{Duration: cacheFor},
			APIVersion:           apiVersion,
			Args:                 append([]string{}, ProviderArgs...),
			Env:                  env(o, set.Extra(), tokenAttrs != nil),
			TokenAttributes:      tokenAttrs,
		}},
	}, nil
}

// matchImages are the registries served: the defaults and the extra
// patterns, each checked.
func matchImages(patterns []string) (registries.Set, error) {
	var extra []string
	for _, p := range patterns {
		n, err := registries.CheckPattern(p)
		if err != nil {
			return nil, err
		}
		extra = append(extra, n)
	}
	return registries.With(extra), nil
}

// env is the environment the kubelet gives the plugin.
func env(o Options, extra []string, podIdentity bool) []kubeletapi.ExecEnvVar {
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
	if podIdentity {
		mode, _ := podidentity.ParseMode(o.PodIdentityMode) // checked by tokenAttributes
		env = append(env, kubeletapi.ExecEnvVar{Name: podidentity.EnvConfig, Value: o.WorkloadIdentityFile},
			kubeletapi.ExecEnvVar{Name: podidentity.EnvMode, Value: mode})
		if o.RequireServiceAccount {
			env = append(env, kubeletapi.ExecEnvVar{Name: podidentity.EnvRequire, Value: "true"})
		}
		if m, _ := podidentity.ParseSubjectMapping(o.SubjectMapping); !m.IsDefault() {
			env = append(env, kubeletapi.ExecEnvVar{Name: podidentity.EnvSubjectMapping, Value: m.String()})
		}
	}
	if o.TestLoopbackEndpoints {
		env = append(env, kubeletapi.ExecEnvVar{Name: endpoint.EnvTestLoopback, Value: "1"})
	}
	return env
}

// ErrNoTokenAttributes is matched (errors.Is) when per-pod identity is asked
// of an exec API version without tokenAttributes.
var ErrNoTokenAttributes = errors.New("the provider config version has no tokenAttributes")

// tokenAttributes is the provider's tokenAttributes for o, nil when per-pod
// identity is off.
func tokenAttributes(o Options, apiVersion string) (*kubeletapi.ServiceAccountTokenAttributes, error) {
	if o.ServiceAccountAudience == "" && o.WorkloadIdentityFile == "" && !o.RequireServiceAccount && o.WorkloadIdentityConfig == nil &&
		o.PodIdentityMode == "" && o.SubjectMapping == "" {
		return nil, nil
	}
	if err := checkPodIdentity(o, apiVersion); err != nil {
		return nil, err
	}
	require := o.RequireServiceAccount
	return &kubeletapi.ServiceAccountTokenAttributes{
		ServiceAccountTokenAudience: o.ServiceAccountAudience,
		// The token we answer with depends on the service account, not on
		// the pod's token: one cached answer serves every pod of an account.
		CacheType:                            kubeletapi.CacheTypeServiceAccount,
		RequireServiceAccount:                &require,
		OptionalServiceAccountAnnotationKeys: append([]string{}, podidentity.AnnotationKeys...),
	}, nil
}

// checkPodIdentity says what per-pod identity in o lacks or gets wrong.
func checkPodIdentity(o Options, apiVersion string) error {
	switch {
	case apiVersion != kubeletapi.APIVersionV1:
		return fmt.Errorf("pods' own identity needs the %s exec API (kubelet 1.34 and newer; tokenAttributes do not exist in %s): %w", kubeletapi.APIVersionV1, apiVersion, ErrNoTokenAttributes)
	case o.ServiceAccountAudience == "":
		return fmt.Errorf("pods' own identity needs a service-account token audience: the kubelet asks the API server for tokens with it")
	case o.WorkloadIdentityFile == "":
		return fmt.Errorf("pods' own identity needs the workload identity configuration that service-account tokens are exchanged with")
	case !filepath.IsAbs(o.WorkloadIdentityFile):
		return fmt.Errorf("workload identity configuration %q must be an absolute path: the kubelet runs the plugin from its own working directory", o.WorkloadIdentityFile)
	}
	if err := CheckServiceAccountAudience(o.ServiceAccountAudience); err != nil {
		return err
	}
	if _, err := podidentity.ParseMode(o.PodIdentityMode); err != nil {
		return err
	}
	if _, err := podidentity.ParseSubjectMapping(o.SubjectMapping); err != nil {
		return err
	}
	if o.WorkloadIdentityConfig != nil {
		return CheckWorkloadIdentityConfig(o.WorkloadIdentityConfig, o.WorkloadIdentityFile)
	}
	return nil
}

// ConfigAPIVersion is the CredentialProviderConfig version for a kubelet
// that speaks the given exec API version: the two moved together
// (kubelet.config.k8s.io/v1alpha1 from 1.20, v1beta1 from 1.24, v1 from
// 1.26), so a 1.25 kubelet cannot read a kubelet.config.k8s.io/v1 file.
func ConfigAPIVersion(execAPIVersion string) string {
	_, version, _ := strings.Cut(execAPIVersion, "/")
	return kubeletapi.KubeletConfigGroup + "/" + version
}

// KubeletFlags are the two kubelet flags that wire the provider in, as
// command-line words.
func KubeletFlags(configPath, binDir string) []string {
	var out []string
	for _, f := range nodelayout.ProviderFlags(configPath, binDir) {
		out = append(out, f.String())
	}
	return out
}

// NodePod is per-pod identity in the provider config of a node gcrcred
// sets up.
type NodePod struct {
	Audience, Mode, Mapping string
	Require                 bool
	// Config is the workload identity configuration installed at
	// nodelayout.WorkloadIdentity, checked when non-nil.
	Config []byte
}

// ForNode are the options of the provider config on a node gcrcred sets
// up: the credentials, cache and workload identity configuration at the
// node layout's paths, extra registries, and per-pod identity (nil: off).
// apiVersion is the exec API version ("": v1).
func ForNode(apiVersion string, registries []string, pod *NodePod) Options {
	o := Options{
		APIVersion:      apiVersion,
		CredentialsFile: nodelayout.Credentials,
		CacheDir:        nodelayout.KubeletCache,
		Registries:      registries,
		// The test switch reaches the kubelet's plugin only from a run
		// that has it (gcrcred's tests). Read from the environment here,
		// as the installers always have.
		TestLoopbackEndpoints: endpoint.TestLoopback(),
	}
	if pod != nil {
		// The node key, if any, is found at Credentials by the credential
		// order: the config does not depend on whether there is one.
		o.CredentialsFile = ""
		o.ServiceAccountAudience = pod.Audience
		o.WorkloadIdentityFile = nodelayout.WorkloadIdentity
		o.WorkloadIdentityConfig = pod.Config
		o.RequireServiceAccount = pod.Require
		o.PodIdentityMode = pod.Mode
		o.SubjectMapping = pod.Mapping
	}
	return o
}

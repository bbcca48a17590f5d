package provider

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/cache"
	"github.com/gcrcred/gcrcred/internal/endpoint"
	"github.com/gcrcred/gcrcred/internal/kubeletapi"
	"github.com/gcrcred/gcrcred/internal/podidentity"
	"github.com/gcrcred/gcrcred/internal/registries"
	"github.com/gcrcred/gcrcred/internal/yamlfile"
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
	// DefaultWorkloadIdentityPath is where installers put the workload
	// identity credential configuration on a node.
	DefaultWorkloadIdentityPath = "/etc/gcrcred/workload-identity.json"
)

// Per-pod identity, in the config's env and tokenAttributes.
const (
	EnvWorkloadIdentity      = podidentity.EnvConfig  // GCRCRED_WORKLOAD_IDENTITY: the credential configuration's path
	EnvRequireServiceAccount = podidentity.EnvRequire // GCRCRED_REQUIRE_SERVICE_ACCOUNT: "true" to refuse requests without a token
	EnvPodIdentity           = podidentity.EnvMode    // GCRCRED_POD_IDENTITY: annotated or all
	EnvSubjectMapping        = podidentity.EnvSubjectMapping
	// ServiceAccountAnnotation names the Google service account a
	// Kubernetes service account's pods pull as; the kubelet passes it on.
	ServiceAccountAnnotation = podidentity.AnnotationKey
	// EnableAnnotation "true" opts a service account in to pulling as its
	// own principal in annotated mode; the kubelet passes it on.
	EnableAnnotation = podidentity.EnableAnnotationKey
	// RBACName is the ClusterRole and ClusterRoleBinding that let kubelets
	// request tokens for the audience.
	RBACName = podidentity.RBACName
)

// ConfigOptions shape the CredentialProviderConfig for this provider.
type ConfigOptions struct {
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

// CheckWorkloadIdentityConfig checks a workload identity federation
// credential configuration (what `gcloud iam workload-identity-pools
// create-cred-config` writes) read from path, as get-credentials will.
func CheckWorkloadIdentityConfig(data []byte, path string) error {
	_, err := podidentity.ParseConfig(data, path)
	return err
}

// PodIdentityWarnings are what is legal in o but likely not what was
// meant, one line each: an audience that is not the pool provider the
// configuration names (Google's STS then accepts it only if the provider
// lists it among its allowed audiences), and a default Google service
// account in the configuration that annotated mode never uses.
func PodIdentityWarnings(o ConfigOptions) []string {
	if o.WorkloadIdentityConfig == nil {
		return nil
	}
	cfg, err := podidentity.ParseConfig(o.WorkloadIdentityConfig, o.WorkloadIdentityFile)
	if err != nil {
		return nil // Config says why
	}
	var out []string
	if aud := o.ServiceAccountAudience; aud != cfg.Audience && aud != "https:"+cfg.Audience {
		out = append(out, fmt.Sprintf("the service-account token audience %q is not the pool provider %s names (https:%s): Google's STS accepts it only if that provider lists it (`gcloud iam workload-identity-pools providers update-oidc ... --allowed-audiences`)",
			aud, o.WorkloadIdentityFile, cfg.Audience))
	}
	if mode, _ := podidentity.ParseMode(o.PodIdentityMode); mode == podidentity.ModeAnnotated && cfg.DefaultServiceAccount() != "" {
		out = append(out, fmt.Sprintf("%s impersonates %s by default (service_account_impersonation_url), which only --pod-identity all uses: in annotated mode service accounts name their Google service account with %s, or pull as their principal with %s=true",
			o.WorkloadIdentityFile, cfg.DefaultServiceAccount(), ServiceAccountAnnotation, EnableAnnotation))
	}
	return out
}

// CheckServiceAccountAudience checks an audience for tokenAttributes.
func CheckServiceAccountAudience(aud string) error {
	switch {
	case aud == "":
		return fmt.Errorf("the service-account token audience is empty")
	case len(aud) > 1024:
		return fmt.Errorf("the service-account token audience is longer than 1024 bytes")
	case strings.ContainsFunc(aud, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return fmt.Errorf("the service-account token audience %q contains spaces or control characters", aud)
	}
	return nil
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
	out, err := yamlfile.Marshal(cfg)
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
	tokenAttrs, err := tokenAttributes(o, apiVersion)
	if err != nil {
		return nil, err
	}

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
	if tokenAttrs != nil {
		mode, _ := podidentity.ParseMode(o.PodIdentityMode) // checked by tokenAttributes
		env = append(env, kubeletapi.ExecEnvVar{Name: EnvWorkloadIdentity, Value: o.WorkloadIdentityFile},
			kubeletapi.ExecEnvVar{Name: EnvPodIdentity, Value: mode})
		if o.RequireServiceAccount {
			env = append(env, kubeletapi.ExecEnvVar{Name: EnvRequireServiceAccount, Value: "true"})
		}
		if m, _ := podidentity.ParseSubjectMapping(o.SubjectMapping); !m.IsDefault() {
			env = append(env, kubeletapi.ExecEnvVar{Name: EnvSubjectMapping, Value: m.String()})
		}
	}
	if o.TestLoopbackEndpoints {
		env = append(env, kubeletapi.ExecEnvVar{Name: endpoint.EnvTestLoopback, Value: "1"})
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
			TokenAttributes:      tokenAttrs,
		}},
	}, nil
}

// ErrNoTokenAttributes is matched (errors.Is) when per-pod identity is asked
// of an exec API version without tokenAttributes.
var ErrNoTokenAttributes = errors.New("the provider config version has no tokenAttributes")

// tokenAttributes is the provider's tokenAttributes for o, nil when per-pod
// identity is off.
func tokenAttributes(o ConfigOptions, apiVersion string) (*kubeletapi.ServiceAccountTokenAttributes, error) {
	if o.ServiceAccountAudience == "" && o.WorkloadIdentityFile == "" && !o.RequireServiceAccount && o.WorkloadIdentityConfig == nil &&
		o.PodIdentityMode == "" && o.SubjectMapping == "" {
		return nil, nil
	}
	switch {
	case apiVersion != kubeletapi.APIVersionV1:
		return nil, fmt.Errorf("pods' own identity needs the %s exec API (kubelet 1.34 and newer; tokenAttributes do not exist in %s): %w", kubeletapi.APIVersionV1, apiVersion, ErrNoTokenAttributes)
	case o.ServiceAccountAudience == "":
		return nil, fmt.Errorf("pods' own identity needs a service-account token audience: the kubelet asks the API server for tokens with it")
	case o.WorkloadIdentityFile == "":
		return nil, fmt.Errorf("pods' own identity needs the workload identity configuration that service-account tokens are exchanged with")
	case !filepath.IsAbs(o.WorkloadIdentityFile):
		return nil, fmt.Errorf("workload identity configuration %q must be an absolute path: the kubelet runs the plugin from its own working directory", o.WorkloadIdentityFile)
	}
	if err := CheckServiceAccountAudience(o.ServiceAccountAudience); err != nil {
		return nil, err
	}
	if _, err := podidentity.ParseMode(o.PodIdentityMode); err != nil {
		return nil, err
	}
	if _, err := podidentity.ParseSubjectMapping(o.SubjectMapping); err != nil {
		return nil, err
	}
	if o.WorkloadIdentityConfig != nil {
		if err := CheckWorkloadIdentityConfig(o.WorkloadIdentityConfig, o.WorkloadIdentityFile); err != nil {
			return nil, err
		}
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

package provider

import (
	"io"
	"time"
)

// ConfigOptions shape the CredentialProviderConfig for this provider.
type ConfigOptions struct {
	APIVersion           string        // credentialprovider.kubelet.k8s.io/v1 (default), v1beta1 or v1alpha1
	CredentialsFile      string        // passed to the plugin as GCRCRED_CREDENTIALS via env
	CacheDir             string        // passed as GCRCRED_CACHE_DIR via env
	Registries           []string      // extra patterns beyond the defaults
	DefaultCacheDuration time.Duration // 0: a sensible default
}

// KubeletConfig renders the CredentialProviderConfig YAML.
func KubeletConfig(o ConfigOptions) ([]byte, error) { panic("TODO") }

// RunGetCredentials is `gcrcred get-credentials`.
func RunGetCredentials(args []string, stdin io.Reader, stdout, stderr io.Writer) int { panic("TODO") }

// RunKubeletConfig is `gcrcred kubelet-config`.
func RunKubeletConfig(args []string, stdout, stderr io.Writer) int { panic("TODO") }

// Package kubeletapi holds the kubelet's credential-provider wire types and
// request parsing: what `gcrcred get-credentials` reads and writes and what
// `gcrcred kubelet-config` prints. It imports none of gcrcred's packages.
package kubeletapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The wire types below mirror, field for field and tag for tag,
//
//	k8s.io/kubelet/pkg/apis/credentialprovider/{v1,v1beta1,v1alpha1}
//	    CredentialProviderRequest, CredentialProviderResponse, AuthConfig
//	k8s.io/kubelet/config/v1
//	    CredentialProviderConfig, CredentialProvider, ExecEnvVar,
//	    ServiceAccountTokenAttributes
//
// instead of importing them. Why: those packages pull in k8s.io/apimachinery,
// whose init work raised the binary's whole-process start-up from ~10 ms to
// ~14 ms (hello-world floor ~6 ms), and every `docker pull` through the helper
// pays start-up. The test module test/kubelet proves the mirror: a reflection
// test compares these types with the real ones, and the kubelet's own strict
// codec decodes what we print.

// API groups and versions.
const (
	CredentialProviderGroup = "credentialprovider.kubelet.k8s.io"
	APIVersionV1            = CredentialProviderGroup + "/v1"
	APIVersionV1beta1       = CredentialProviderGroup + "/v1beta1"
	APIVersionV1alpha1      = CredentialProviderGroup + "/v1alpha1"

	KubeletConfigGroup      = "kubelet.config.k8s.io"
	KubeletConfigAPIVersion = KubeletConfigGroup + "/v1"

	KindRequest  = "CredentialProviderRequest"
	KindResponse = "CredentialProviderResponse"
	KindConfig   = "CredentialProviderConfig"
)

// APIVersions are the exec API versions the kubelet (and gcrcred) speak,
// newest first.
var APIVersions = []string{APIVersionV1, APIVersionV1beta1, APIVersionV1alpha1}

// Cache key types of a CredentialProviderResponse.
const (
	CacheKeyImage    = "Image"
	CacheKeyRegistry = "Registry"
	CacheKeyGlobal   = "Global"
)

// Cache types of ServiceAccountTokenAttributes: what the kubelet adds to
// its cache key besides the service account's namespace, name, UID and
// passed annotations (Token: the token's hash too).
const (
	CacheTypeServiceAccount = "ServiceAccount"
	CacheTypeToken          = "Token"
)

// TypeMeta mirrors metav1.TypeMeta (embedded with `json:""`, so inline).
type TypeMeta struct {
	Kind       string `json:"kind,omitempty"`
	APIVersion string `json:"apiVersion,omitempty"`
}

// Duration mirrors metav1.Duration: JSON is Go's duration string ("55m0s").
type Duration struct {
	time.Duration
}

// MarshalJSON writes the duration as metav1.Duration does.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.Duration.String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"55m0s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// CredentialProviderRequest is what the kubelet writes to the plugin's stdin.
// The service-account fields exist in v1 only; v1beta1 and v1alpha1 requests
// simply lack them.
type CredentialProviderRequest struct {
	TypeMeta `json:""`

	Image                     string            `json:"image"`
	ServiceAccountToken       string            `json:"serviceAccountToken,omitempty"`
	ServiceAccountAnnotations map[string]string `json:"serviceAccountAnnotations,omitempty"`
}

// CredentialProviderResponse is what the plugin writes to stdout; identical
// in all three versions.
type CredentialProviderResponse struct {
	TypeMeta `json:""`

	CacheKeyType  string                `json:"cacheKeyType"`
	CacheDuration *Duration             `json:"cacheDuration,omitempty"`
	Auth          map[string]AuthConfig `json:"auth,omitempty"`
}

// AuthConfig is one registry's username and password.
type AuthConfig struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// CredentialProviderConfig is the file named by the kubelet's
// --image-credential-provider-config flag.
type CredentialProviderConfig struct {
	TypeMeta `json:""`

	Providers []CredentialProvider `json:"providers"`
}

// CredentialProvider is one exec plugin in a CredentialProviderConfig.
type CredentialProvider struct {
	Name                 string                         `json:"name"`
	MatchImages          []string                       `json:"matchImages"`
	DefaultCacheDuration *Duration                      `json:"defaultCacheDuration"`
	APIVersion           string                         `json:"apiVersion"`
	Args                 []string                       `json:"args,omitempty"`
	Env                  []ExecEnvVar                   `json:"env,omitempty"`
	TokenAttributes      *ServiceAccountTokenAttributes `json:"tokenAttributes,omitempty"`
}

// ExecEnvVar is an environment variable the kubelet sets for the plugin.
type ExecEnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ServiceAccountTokenAttributes asks the kubelet to pass a pod's service
// account token (v1 only).
type ServiceAccountTokenAttributes struct {
	ServiceAccountTokenAudience          string   `json:"serviceAccountTokenAudience"`
	CacheType                            string   `json:"cacheType"`
	RequireServiceAccount                *bool    `json:"requireServiceAccount"`
	RequiredServiceAccountAnnotationKeys []string `json:"requiredServiceAccountAnnotationKeys,omitempty"`
	OptionalServiceAccountAnnotationKeys []string `json:"optionalServiceAccountAnnotationKeys,omitempty"`
}

// RegistryOf is the registry part of an image as the kubelet cuts it
// (everything before the first "/"), so the auth key matches the image
// exactly as the kubelet compares them, case and port included.
func RegistryOf(image string) string {
	host, _, _ := strings.Cut(strings.TrimSpace(image), "/")
	return host
}

// NewResponse is the answer to req with no credentials: what a registry
// gcrcred does not serve gets. No cacheDuration, so the config's default
// applies; the kubelet treats an absent and an empty auth map alike.
func NewResponse(req *CredentialProviderRequest) *CredentialProviderResponse {
	return &CredentialProviderResponse{
		TypeMeta:     TypeMeta{Kind: KindResponse, APIVersion: req.APIVersion},
		CacheKeyType: CacheKeyRegistry,
	}
}

// SetAuth answers host with a username and password; the kubelet may cache
// them for cacheDuration (nil: the config's defaultCacheDuration).
func (r *CredentialProviderResponse) SetAuth(host, username, password string, cacheDuration *time.Duration) {
	if cacheDuration != nil {
		r.CacheDuration = &Duration{Duration: *cacheDuration}
	}
	r.Auth = map[string]AuthConfig{host: {Username: username, Password: password}}
}

// Package podidentity mints Google access tokens for the Kubernetes service
// account of the pod whose image the kubelet pulls (KEP-4412: the kubelet
// hands the plugin a service-account token for an audience we choose). The
// token is exchanged at Google's Security Token Service for a token of the
// workload identity pool principal its sub maps to, and, if the service
// account is annotated iam.gke.io/gcp-service-account, that is exchanged
// at IAM Credentials for a token of the Google service account named there.
//
// Which pool provider and which endpoints come from a workload identity
// federation credential configuration, as `gcloud iam
// workload-identity-pools create-cred-config` writes it, held to the
// Google endpoint rule (internal/endpoint) before anything is sent; its
// credential_source is ignored, never read, since the kubelet supplies the
// subject token. Google verifies the token (signature against the cluster's keys,
// issuer, audience, expiry) and decides who may impersonate what; gcrcred
// reads the token's claims only to name the service account in messages
// and to key its cache.
package podidentity

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/credfile"
	"github.com/gcrcred/gcrcred/internal/smallfile"
)

// Names shared by the kubelet config, the plugin and the installers.
const (
	// EnvConfig names the credential configuration file in the plugin's
	// environment (the kubelet config's env).
	EnvConfig = "GCRCRED_WORKLOAD_IDENTITY"
	// EnvRequire, when true, makes the plugin refuse requests that carry no
	// service-account token instead of answering with the node's credentials.
	EnvRequire = "GCRCRED_REQUIRE_SERVICE_ACCOUNT"
	// AnnotationKey on a Kubernetes service account names the Google
	// service account its pods pull as (the key GKE uses for the same idea).
	AnnotationKey = "iam.gke.io/gcp-service-account"
)

// Token types STS takes for an OIDC provider.
const (
	TokenTypeJWT     = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeIDToken = "urn:ietf:params:oauth:token-type:id_token"
)

// universe is the only universe gcrcred sends credentials to: ParseConfig
// refuses a file naming another (credfile.Check), so nothing here is built
// from the file's universe_domain.
const universe = "googleapis.com"

// MaxConfigBytes bounds the file: a real one is under 1 KiB.
const MaxConfigBytes = 64 << 10

// Config is a checked workload identity federation credential configuration.
type Config struct {
	Path             string // where it was read, for messages
	Audience         string // the pool provider's resource name, //iam.googleapis.com/projects/N/...
	Pool, Provider   string // ids from Audience
	Project          string // project number from Audience
	SubjectTokenType string
	TokenURL         string // STS
	// ImpersonationURL is service_account_impersonation_url: the Google
	// service account of pods whose Kubernetes service account has no
	// annotation; "" for none (they pull as their own principal).
	ImpersonationURL string
	// Lifetime of impersonated tokens in seconds
	// (service_account_impersonation.token_lifetime_seconds); 0: an hour.
	LifetimeSeconds int

	digest string // of the file's bytes: part of every cache key
}

// Patterns are compiled on first use: every gcrcred process links this
// package, and the Docker helper's and the node's paths never need them.
var (
	providerPattern  = lazyRegexp(`^//iam\.([a-z0-9.-]+)/projects/([^/]+)/locations/global/workloadIdentityPools/([^/]+)/providers/([^/]+)$`)
	workforcePattern = lazyRegexp(`^//iam\.[a-z0-9.-]+/locations/[^/]+/workforcePools/`)
	// emailPattern is what a Google service account's e-mail looks like;
	// it keeps an annotation from reshaping the IAM request's path.
	emailPattern = lazyRegexp(`^[A-Za-z0-9][A-Za-z0-9._+-]*@[A-Za-z0-9][A-Za-z0-9-]*(\.[A-Za-z0-9][A-Za-z0-9-]*)+$`)
)

func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// ReadConfig reads (bounded, never blocking on a FIFO) and checks the
// credential configuration at path.
func ReadConfig(path string) (*Config, error) {
	b, err := smallfile.Read(path, MaxConfigBytes, "workload identity configuration")
	if err != nil {
		return nil, err
	}
	return ParseConfig(b, path)
}

// fileFields are the fields of a credential configuration gcrcred reads.
type fileFields struct {
	Type                           string `json:"type"`
	Audience                       string `json:"audience"`
	SubjectTokenType               string `json:"subject_token_type"`
	TokenURL                       string `json:"token_url"`
	ServiceAccountImpersonationURL string `json:"service_account_impersonation_url"`
	ServiceAccountImpersonation    struct {
		TokenLifetimeSeconds int `json:"token_lifetime_seconds"`
	} `json:"service_account_impersonation"`
}

// ParseConfig checks data as a credential configuration read from path.
// Messages never quote the file beyond the fields named.
func ParseConfig(data []byte, path string) (*Config, error) {
	var f fileFields
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("workload identity configuration %s is not valid JSON: create it with `gcloud iam workload-identity-pools create-cred-config`", path)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("workload identity configuration %s: %s", path, fmt.Sprintf(format, args...))
	}
	if f.Type != credfile.ExternalAccount {
		return nil, bad("type is %q, want external_account: create it with `gcloud iam workload-identity-pools create-cred-config` (a service-account key goes in --credentials instead)", cli.Clip(f.Type, 120))
	}
	// Every endpoint is Google's before anything else is looked at: this
	// file decides where every pod's service-account token is sent.
	if err := credfile.Check(data, "workload identity configuration "+path, credfile.PodConfig); err != nil {
		return nil, err
	}
	if workforcePattern().MatchString(f.Audience) {
		return nil, bad("audience names a workforce pool, which is for people signing in; pods need a workload identity pool provider")
	}
	m := providerPattern().FindStringSubmatch(f.Audience)
	if m == nil {
		return nil, bad("audience %q is not a workload identity pool provider (//iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER)", cli.Clip(f.Audience, 120))
	}
	if strings.Trim(m[2], "0123456789") != "" {
		return nil, bad("audience names project %q: pool provider names carry the project number (digits; `gcloud projects describe PROJECT --format='value(projectNumber)'`), and Google knows no other", cli.Clip(m[2], 60))
	}
	c := &Config{
		Path:             path,
		Audience:         f.Audience,
		Project:          m[2],
		Pool:             m[3],
		Provider:         m[4],
		SubjectTokenType: f.SubjectTokenType,
		TokenURL:         f.TokenURL,
		ImpersonationURL: f.ServiceAccountImpersonationURL,
		LifetimeSeconds:  f.ServiceAccountImpersonation.TokenLifetimeSeconds,
	}
	switch c.SubjectTokenType {
	case "":
		c.SubjectTokenType = TokenTypeJWT
	case TokenTypeJWT, TokenTypeIDToken:
	default:
		return nil, bad("subject_token_type is %q: the kubelet hands over a JWT, so it must be %s", cli.Clip(c.SubjectTokenType, 120), TokenTypeJWT)
	}
	if c.TokenURL == "" {
		// What golang.org/x/oauth2/google/externalaccount defaults to.
		c.TokenURL = "https://sts." + universe + "/v1/token"
	}
	if c.ImpersonationURL != "" {
		if _, ok := impersonationTarget(c.ImpersonationURL); !ok {
			return nil, bad("service_account_impersonation_url does not end in /serviceAccounts/EMAIL:generateAccessToken")
		}
	}
	if l := c.LifetimeSeconds; l != 0 && (l < 600 || l > 43200) {
		return nil, bad("service_account_impersonation.token_lifetime_seconds is %d, want 600 to 43200", l)
	}
	sum := sha256.Sum256(data)
	c.digest = hex.EncodeToString(sum[:])
	return c, nil
}

// DefaultServiceAccount is the Google service account the file impersonates
// for pods with no annotation, "" if none.
func (c *Config) DefaultServiceAccount() string {
	email, _ := impersonationTarget(c.ImpersonationURL)
	return email
}

// Principal is the principal a mapped subject (google.subject) names:
// what to grant roles to.
func (c *Config) Principal(subject string) string {
	return "principal://iam." + universe + "/projects/" + c.Project + "/locations/global/workloadIdentityPools/" + c.Pool + "/subject/" + subject
}

// GenerateAccessTokenURL is the IAM Credentials call that mints a token for
// the Google service account email. The endpoint comes from the file:
//   - service_account_impersonation_url, when present: its scheme, host
//     and path up to /serviceAccounts/ (a private endpoint keeps working);
//   - else the standard https://iamcredentials.googleapis.com/v1/projects/-;
//   - but for a token_url on loopback (a fake, under the test switch
//     GCRCRED_TEST_LOOPBACK_ENDPOINTS=1) token_url's own scheme and host
//     with /v1/projects/-.
func (c *Config) GenerateAccessTokenURL(email string) string {
	return c.iamBase() + "/serviceAccounts/" + url.PathEscape(email) + ":generateAccessToken"
}

func (c *Config) iamBase() string {
	if c.ImpersonationURL != "" {
		i := strings.LastIndex(c.ImpersonationURL, "/serviceAccounts/")
		return c.ImpersonationURL[:i]
	}
	u, _ := url.Parse(c.TokenURL) // checked by ParseConfig
	if h := u.Hostname(); h == "127.0.0.1" || h == "::1" {
		return u.Scheme + "://" + u.Host + "/v1/projects/-"
	}
	return "https://iamcredentials." + universe + "/v1/projects/-"
}

// impersonationTarget is the e-mail u impersonates, and whether it is a
// Google service account's.
func impersonationTarget(u string) (string, bool) {
	email, ok := credfile.ImpersonationTarget(u)
	return email, ok && CheckServiceAccountEmail(email) == nil
}

// CheckServiceAccountEmail refuses what is not a Google service account's
// e-mail, before it becomes part of a request path.
func CheckServiceAccountEmail(email string) error {
	if len(email) > 254 || !emailPattern().MatchString(email) {
		return fmt.Errorf("%q is not a Google service account e-mail (NAME@PROJECT.iam.gserviceaccount.com)", cli.Clip(email, 120))
	}
	return nil
}

// CheckAnnotatedServiceAccount refuses an annotation that does not name a
// user-managed Google service account, NAME@PROJECT.iam.gserviceaccount.com
// (the form GKE's iam.gke.io/gcp-service-account takes).
func CheckAnnotatedServiceAccount(email string) error {
	if err := CheckServiceAccountEmail(email); err != nil {
		return err
	}
	// CheckServiceAccountEmail made sure of one '@' and a domain of
	// non-empty labels.
	if at := strings.LastIndexByte(email, '@'); !strings.HasSuffix(strings.ToLower(email[at:]), ".iam.gserviceaccount.com") {
		return fmt.Errorf("%q is not a Google service account e-mail (NAME@PROJECT.iam.gserviceaccount.com)", cli.Clip(email, 120))
	}
	return nil
}

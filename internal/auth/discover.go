// Package auth finds the user's Google credentials and mints access tokens
// from them. It is the one place that knows the credential order of
// DESIGN.md; the front ends (helper/, provider/) only ask it for a Source and
// a token.
package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// DefaultScope is what tokens are minted for unless GCRCRED_SCOPES says otherwise.
const DefaultScope = "https://www.googleapis.com/auth/cloud-platform"

// SystemCredentials is the node-wide file the minikube installer writes, so
// the kubelet and docker on a node need no environment.
const SystemCredentials = "/etc/gcrcred/credentials.json"

// Kinds of Source. The file kinds are the "type" values of Google credential files.
const (
	ServiceAccount                = "service_account"
	AuthorizedUser                = "authorized_user"
	ExternalAccount               = "external_account"
	ExternalAccountAuthorizedUser = "external_account_authorized_user"
	ImpersonatedServiceAccount    = "impersonated_service_account"
	Metadata                      = "metadata"
	GcloudCLI                     = "gcloud"
)

// Options choose credentials, scopes and cache. The zero value means: the
// environment, as DESIGN.md describes.
type Options struct {
	CredentialsFile string   // --credentials; beats every environment variable
	Scopes          []string // nil: GCRCRED_SCOPES or DefaultScope
	CacheDir        string   // "": GCRCRED_CACHE_DIR or the user's cache directory
	NoCache         bool     // mint every time (doctor's --no-cache)
}

// Source is one place credentials come from, found by Discover. Finding a
// Source reads local files only; tokens are minted on demand.
type Source struct {
	Kind    string   // one of the kinds above
	Origin  string   // where it was found, for humans: "GCRCRED_CREDENTIALS (/path)"
	Path    string   // the credentials file, if any
	Account string   // best-effort identity (never a secret)
	Scopes  []string // scopes tokens are minted for

	json     []byte // the credentials file, for json-key mode and minting
	cacheKey string
	cacheDir string
	noCache  bool
	metaHost string // metadata server host:port (Metadata kind)
	gcloud   string // gcloud executable (GcloudCLI kind)
}

// ErrNoCredentials is matched (errors.Is) by the error Discover returns when
// nothing at all was found, as opposed to credentials that are broken.
var ErrNoCredentials = errors.New("no Google credentials found")

// NotFoundError lists every place Discover looked.
type NotFoundError struct{ Tried []string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%v (tried %s): set GCRCRED_CREDENTIALS to a credentials file, or run `gcloud auth application-default login`",
		ErrNoCredentials, strings.Join(e.Tried, "; "))
}

func (e *NotFoundError) Is(target error) bool { return target == ErrNoCredentials }

// Discover walks the credential order of DESIGN.md and returns the first
// source found. An explicitly named file that is missing or malformed is an
// error, never skipped: the user asked for it.
func Discover(opts Options) (*Source, error) {
	var tried []string
	scopes := opts.Scopes
	if len(scopes) == 0 {
		scopes = ScopesFromEnv()
	}
	finish := func(s *Source) (*Source, error) {
		s.Scopes = scopes
		s.cacheDir = opts.CacheDir
		s.noCache = opts.NoCache
		s.cacheKey = s.identity() + "|" + strings.Join(scopes, " ")
		return s, nil
	}

	for _, c := range []struct{ name, path string }{
		{"--credentials", opts.CredentialsFile},
		{"GCRCRED_CREDENTIALS", os.Getenv("GCRCRED_CREDENTIALS")},
		{"GOOGLE_APPLICATION_CREDENTIALS", os.Getenv("GOOGLE_APPLICATION_CREDENTIALS")},
	} {
		if c.path == "" {
			continue
		}
		s, err := fromFile(c.path, fmt.Sprintf("%s (%s)", c.name, c.path))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		return finish(s)
	}
	tried = append(tried, "GCRCRED_CREDENTIALS and GOOGLE_APPLICATION_CREDENTIALS (unset)")

	// Files that are merely present where we look: a malformed one is still an
	// error (silently skipping it would hide the user's mistake), an unreadable
	// one is skipped (a user outside the docker group on a node, say).
	for _, c := range []struct{ name, path string }{
		{"system credentials", SystemCredentials},
		{"gcloud application default credentials", adcPath()},
	} {
		if c.path == "" {
			continue
		}
		s, err := fromFile(c.path, fmt.Sprintf("%s (%s)", c.name, c.path))
		switch {
		case err == nil:
			return finish(s)
		case errors.Is(err, fs.ErrNotExist):
			tried = append(tried, c.path+" (absent)")
		case errors.Is(err, fs.ErrPermission):
			tried = append(tried, c.path+" (not readable by this user)")
		default:
			return nil, err
		}
	}

	host, ok := probeMetadata()
	if ok {
		return finish(&Source{Kind: Metadata, Origin: "metadata server (" + host + ")", metaHost: host})
	}
	tried = append(tried, "metadata server ("+host+", not reachable)")

	// gcloud with no account configured has nothing to give: asking it would
	// cost most of a second and fail, so it counts as not found.
	if g, err := exec.LookPath("gcloud"); err != nil {
		tried = append(tried, "gcloud CLI (not on PATH)")
	} else if account := gcloudAccount(); account == "" {
		tried = append(tried, "gcloud CLI (no account logged in)")
	} else {
		return finish(&Source{Kind: GcloudCLI, Origin: "gcloud CLI (" + g + ")", gcloud: g, Account: account})
	}
	return nil, &NotFoundError{Tried: tried}
}

// ScopesFromEnv reads GCRCRED_SCOPES (comma or space separated).
func ScopesFromEnv() []string {
	var scopes []string
	for _, s := range strings.FieldsFunc(os.Getenv("GCRCRED_SCOPES"), func(r rune) bool { return r == ',' || r == ' ' }) {
		scopes = append(scopes, s)
	}
	if len(scopes) == 0 {
		scopes = []string{DefaultScope}
	}
	return scopes
}

// credentialsFile holds the fields of a Google credentials file we read
// ourselves; minting is left to golang.org/x/oauth2/google.
type credentialsFile struct {
	Type                           string          `json:"type"`
	ClientEmail                    string          `json:"client_email"`
	PrivateKey                     string          `json:"private_key"`
	ClientID                       string          `json:"client_id"`
	RefreshToken                   string          `json:"refresh_token"`
	Account                        string          `json:"account"`
	Audience                       string          `json:"audience"`
	ServiceAccountImpersonationURL string          `json:"service_account_impersonation_url"`
	SourceCredentials              json.RawMessage `json:"source_credentials"`
}

func fromFile(path, origin string) (*Source, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		// Keep the *PathError's chain (fs.ErrNotExist, fs.ErrPermission) for callers.
		return nil, fmt.Errorf("reading credentials file: %w", err)
	}
	return parse(data, path, origin)
}

// ParseServiceAccountKey checks that data is a usable service-account key
// (what `docker login -u _json_key` hands us) and returns its email.
func ParseServiceAccountKey(data []byte) (email string, err error) {
	s, err := parse(data, "given as the password", "docker login")
	if err != nil {
		return "", err
	}
	if s.Kind != ServiceAccount {
		return "", fmt.Errorf("a _json_key login needs a service-account key, not %s credentials", s.Kind)
	}
	return s.Account, nil
}

func parse(data []byte, path, origin string) (*Source, error) {
	var f credentialsFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("credentials file %s is not valid JSON (%s): download a new key or run `gcloud auth application-default login`", path, jsonProblem(err))
	}
	s := &Source{Kind: f.Type, Origin: origin, Path: path, json: data}
	switch f.Type {
	case ServiceAccount:
		if f.ClientEmail == "" || f.PrivateKey == "" {
			return nil, fmt.Errorf("credentials file %s: service_account key lacks client_email or private_key", path)
		}
		s.Account = f.ClientEmail
	case AuthorizedUser:
		if f.RefreshToken == "" || f.ClientID == "" {
			return nil, fmt.Errorf("credentials file %s: authorized_user credentials lack client_id or refresh_token: run `gcloud auth application-default login`", path)
		}
		s.Account = f.Account
		if s.Account == "" {
			s.Account = "user of OAuth client " + f.ClientID
		}
	case ExternalAccount, ExternalAccountAuthorizedUser:
		s.Account = impersonationTarget(f.ServiceAccountImpersonationURL)
		if s.Account == "" {
			s.Account = "federated identity of " + f.Audience
		}
	case ImpersonatedServiceAccount:
		if f.ServiceAccountImpersonationURL == "" || len(f.SourceCredentials) == 0 {
			return nil, fmt.Errorf("credentials file %s: impersonated_service_account lacks service_account_impersonation_url or source_credentials", path)
		}
		s.Account = impersonationTarget(f.ServiceAccountImpersonationURL)
	case "":
		return nil, fmt.Errorf("credentials file %s has no \"type\" field: is it a Google credentials file?", path)
	default:
		return nil, fmt.Errorf("credentials file %s has unsupported type %q (want service_account, authorized_user, external_account or impersonated_service_account)", path, f.Type)
	}
	return s, nil
}

// jsonProblem describes a JSON error without quoting the input (it may hold a key).
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type", typ.Field)
	case strings.Contains(err.Error(), "unexpected end"):
		return "truncated"
	}
	return "unparseable"
}

// impersonationTarget pulls the email out of
// .../serviceAccounts/EMAIL:generateAccessToken.
func impersonationTarget(u string) string {
	i := strings.LastIndex(u, "/serviceAccounts/")
	if i < 0 {
		return ""
	}
	e := u[i+len("/serviceAccounts/"):]
	if j := strings.Index(e, ":"); j >= 0 {
		e = e[:j]
	}
	return e
}

func adcPath() string {
	if d := os.Getenv("CLOUDSDK_CONFIG"); d != "" {
		return filepath.Join(d, "application_default_credentials.json")
	}
	if h := os.Getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "gcloud", "application_default_credentials.json")
	}
	return ""
}

// identity is the cache identity of a source: two different credentials never
// share one, the same credentials always do.
func (s *Source) identity() string {
	switch s.Kind {
	case Metadata:
		return "metadata:" + s.metaHost
	case GcloudCLI:
		return "gcloud:" + gcloudConfigDir() + ":" + s.Account
	}
	return "file:" + sha256hex(s.json)
}

// Usernames Google registries accept: an access token, or (the long-lived
// method) a service-account key as the password.
const (
	TokenUsername   = "oauth2accesstoken"
	JSONKeyUsername = "_json_key"
)

// JSONKeyMode reports GCRCRED_AUTH=json-key: answer with the key, not a token.
func JSONKeyMode() bool { return os.Getenv("GCRCRED_AUTH") == "json-key" }

// Package auth finds the user's Google credentials and mints access tokens
// from them. Credential files come from internal/credfile; auth adds the
// metadata server and the gcloud CLI, and mints through
// golang.org/x/oauth2/google behind the disk cache. The front ends (helper/,
// provider/) only ask it for a Source and a token.
package auth

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/gcrcred/gcrcred/internal/credfile"
)

// Re-exported from credfile, so callers need one import.
const (
	DefaultScope                  = credfile.DefaultScope
	SystemCredentials             = credfile.SystemCredentials
	ServiceAccount                = credfile.ServiceAccount
	AuthorizedUser                = credfile.AuthorizedUser
	ExternalAccount               = credfile.ExternalAccount
	ExternalAccountAuthorizedUser = credfile.ExternalAccountAuthorizedUser
	ImpersonatedServiceAccount    = credfile.ImpersonatedServiceAccount
)

// Kinds of Source besides the credential file types.
const (
	Metadata  = "metadata"
	GcloudCLI = "gcloud"
)

// ParseServiceAccountKey: see credfile.ParseServiceAccountKey.
func ParseServiceAccountKey(data []byte) (string, error) {
	return credfile.ParseServiceAccountKey(data)
}

// Options choose credentials, scopes and cache. The zero value means: the
// environment, as DESIGN.md describes.
type Options struct {
	CredentialsFile string   // --credentials; beats every environment variable
	Scopes          []string // nil: GCRCRED_SCOPES or DefaultScope
	CacheDir        string   // "": GCRCRED_CACHE_DIR or the user's cache directory
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
// source found, reading local files only.
func Discover(opts Options) (*Source, error) {
	scopes := opts.Scopes
	if len(scopes) == 0 {
		scopes = credfile.Scopes()
	}
	finish := func(s *Source, identity string) (*Source, error) {
		s.Scopes = scopes
		s.cacheDir = opts.CacheDir
		s.cacheKey = credfile.CacheKey(identity, scopes)
		return s, nil
	}

	f, tried, err := credfile.Locate(opts.CredentialsFile)
	if err != nil {
		return nil, err
	}
	if f != nil {
		return finish(&Source{Kind: f.Kind, Origin: f.Origin, Path: f.Path, Account: f.Account, json: f.JSON}, f.Identity())
	}

	host, ok := probeMetadata()
	if ok {
		return finish(&Source{Kind: Metadata, Origin: "metadata server (" + host + ")", metaHost: host}, "metadata:"+host)
	}
	tried = append(tried, "metadata server ("+host+", not reachable)")

	// gcloud with no account configured has nothing to give: asking it would
	// cost most of a second and fail, so it counts as not found.
	if g, err := exec.LookPath("gcloud"); err != nil {
		tried = append(tried, "gcloud CLI (not on PATH)")
	} else if account := gcloudAccount(); account == "" {
		tried = append(tried, "gcloud CLI (no account logged in)")
	} else {
		s := &Source{Kind: GcloudCLI, Origin: "gcloud CLI (" + g + ")", gcloud: g, Account: account}
		return finish(s, "gcloud:"+credfile.GcloudConfigDir()+":"+account)
	}
	return nil, &NotFoundError{Tried: tried}
}

// ScopesFromEnv reads GCRCRED_SCOPES; see credfile.Scopes.
func ScopesFromEnv() []string { return credfile.Scopes() }

// Usernames Google registries accept, and json-key mode: see credfile.
const (
	TokenUsername   = credfile.TokenUsername
	JSONKeyUsername = credfile.JSONKeyUsername
)

// JSONKeyMode reports GCRCRED_AUTH=json-key.
func JSONKeyMode() bool { return credfile.JSONKeyMode() }

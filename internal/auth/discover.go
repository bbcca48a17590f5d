// Package auth finds the user's Google credentials and mints access tokens
// from them: the token source of the front ends (helper/, provider/).
// Credential files come from internal/credfile; auth adds the metadata
// server and the gcloud CLI, and mints through golang.org/x/oauth2/google
// behind the disk cache (internal/cache).
package auth

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gcrcred/gcrcred/internal/credfile"
	"github.com/gcrcred/gcrcred/internal/limits"
	"github.com/gcrcred/gcrcred/internal/settings"
)

// Kinds of Source besides the credential file types.
const (
	Metadata  = "metadata"
	GcloudCLI = "gcloud"
)

// Options choose credentials, scopes and cache.
type Options struct {
	// Settings say where credentials are looked for (the credential order
	// of docs/design.md: CredentialsFlag, Credentials, GoogleCredentials,
	// the system file, GcloudDir, MetadataHost, the gcloud CLI on Path),
	// the Scopes, the CacheDir ("": no disk cache) and the Limits.
	Settings    settings.Settings
	Credentials *credfile.File // already read (a kept `docker login` key); beats the order
	// Use is what the credentials are for (the kubelet's plugin: Node),
	// which decides the rules files are checked under (credfile.Check).
	Use credfile.Use
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
	use      credfile.Use
	cacheKey string
	cacheDir string // "": no disk cache
	limits   limits.Limits
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

// Discover walks the credential order (see credfile.Locate, then the
// metadata server, then the gcloud CLI except for Use Node) and returns the
// first source found, reading local files only.
func Discover(opts Options) (*Source, error) {
	set := opts.Settings
	scopes := set.Scopes
	if len(scopes) == 0 {
		scopes = settings.ParseScopes("")
	}
	finish := func(s *Source, identity string) (*Source, error) {
		s.Scopes = scopes
		s.cacheDir = set.CacheDir
		s.limits = set.Limits
		s.cacheKey = credfile.CacheKey(identity, scopes)
		return s, nil
	}

	f, tried := opts.Credentials, []string(nil)
	if f == nil {
		var err error
		places := credfile.Places{Flag: set.CredentialsFlag, Gcrcred: set.Credentials, Google: set.GoogleCredentials, GcloudDir: set.GcloudDir}
		if f, tried, err = credfile.Locate(places, opts.Use); err != nil {
			return nil, err
		}
	}
	if f != nil {
		return finish(&Source{Kind: f.Kind, Origin: f.Origin, Path: f.Path, Account: f.Account, json: f.JSON, use: f.Use}, f.Identity())
	}

	if host, candidate := metadataHost(set.MetadataHost); candidate {
		s, _ := finish(&Source{Kind: Metadata, Origin: "metadata server (" + host + ")", metaHost: host}, "metadata:"+host)
		// A token the metadata server gave that is still good says it is
		// there: the warm path makes no request.
		if _, cached := s.Cached(); cached || probeMetadata(host) {
			return s, nil
		}
		tried = append(tried, "metadata server ("+host+", not reachable)")
	} else {
		tried = append(tried, "metadata server (not a Google VM, GCE_METADATA_HOST unset)")
	}

	// gcloud with no account configured has nothing to give: asking it would
	// cost most of a second and fail, so it counts as not found. On a node
	// (the kubelet's plugin, root for every pull) gcrcred executes nothing
	// but itself: whatever `gcloud` is on the kubelet's PATH is not run.
	if opts.Use == credfile.Node {
		tried = append(tried, "gcloud CLI (never run on a node: the kubelet's plugin executes no program)")
	} else if g := set.LookPath("gcloud"); g == "" {
		tried = append(tried, "gcloud CLI (not on PATH)")
	} else if account := gcloudAccount(set); account == "" {
		tried = append(tried, "gcloud CLI (no account logged in)")
	} else {
		s := &Source{Kind: GcloudCLI, Origin: "gcloud CLI (" + g + ")", gcloud: g, Account: account}
		return finish(s, "gcloud:"+set.GcloudDir+":"+account)
	}
	return nil, &NotFoundError{Tried: tried}
}

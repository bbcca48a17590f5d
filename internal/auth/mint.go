package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/gcrcred/gcrcred/internal/cache"
	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/credfile"
	"github.com/gcrcred/gcrcred/internal/limits"
	"github.com/gcrcred/gcrcred/internal/logx"
)

// Minting makes at most maxAttempts, each bounded by Limits.Attempt and all
// together by Limits.Mint, well inside the kubelet's one-minute limit.
const maxAttempts = 3

// backoff before the second and third attempts, as fractions of the budget
// (300 ms and 1 s by default).
var backoff = []float64{0.015, 0.05}

// Token returns a valid access token, from the disk cache when it holds one
// that lives long enough, otherwise freshly minted (and then cached).
func (s *Source) Token(ctx context.Context) (*oauth2.Token, error) {
	return s.TokenSource(ctx).Token()
}

// TokenSource is the cached source for s. The cache is a wrapper, like
// oauth2.ReuseTokenSource but shared between processes through the disk.
func (s *Source) TokenSource(ctx context.Context) oauth2.TokenSource {
	return cache.New(s.cacheDir, s.cacheKey, s.Minter(ctx), s.limits.LockWait())
}

// Cached reports the token the disk cache holds for s, without minting.
func (s *Source) Cached() (*oauth2.Token, bool) {
	return cache.Peek(s.cacheDir, s.cacheKey)
}

// CacheDir is where s's tokens are cached ("": nowhere).
func (s *Source) CacheDir() string { return s.cacheDir }

// Minter mints a new token on every call, with bounded retries; nothing is
// parsed or dialled until Token is called.
func (s *Source) Minter(ctx context.Context) oauth2.TokenSource {
	return minter{ctx: ctx, src: s}
}

type minter struct {
	ctx context.Context
	src *Source
}

func (m minter) Token() (*oauth2.Token, error) {
	s := m.src
	who := s.Account
	if who == "" {
		who = s.Kind
	}
	tok, attempts, err := Retry(m.ctx, s.limits, who, s.mintOnce)
	var problem fileProblem
	if errors.As(err, &problem) {
		return nil, problem.error // nothing was sent: no attempts, no network to blame
	}
	if err != nil {
		return nil, s.mintError(attempts, err)
	}
	logx.Debugf("minted token for %s from %s (expires %s)", s.Account, s.Origin, tok.Expiry.Format(time.RFC3339))
	return tok, nil
}

// Retry calls attempt until it returns a token, at most maxAttempts times,
// all within lim.Mint() and each within lim.Attempt(), retrying
// only errors that may pass (timeouts, 5xx, 429, an error whose
// Transient() says so; never one marked Permanent). Each attempt's ctx
// carries a deadline and, as oauth2.HTTPClient, the bounded client it is
// also given, since some oauth2 paths ignore ctx. who names the identity in
// debug logs. It returns how many attempts were made and the last error.
func Retry(ctx context.Context, lim limits.Limits, who string, attempt func(ctx context.Context, client *http.Client) (*oauth2.Token, error)) (*oauth2.Token, int, error) {
	budget := lim.Mint()
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	var lastErr error
	for n := 0; n < maxAttempts; n++ {
		if n > 0 {
			select {
			case <-time.After(time.Duration(backoff[n-1] * float64(budget))):
			case <-ctx.Done():
				return nil, n, lastErr
			}
		}
		tok, err := once(ctx, lim.Attempt(), attempt)
		if err == nil {
			return tok, n + 1, nil
		}
		lastErr = err
		logx.Debugf("attempt %d to mint a token for %s failed: %v", n+1, who, Sanitize(err, lim))
		if !transient(err) || ctx.Err() != nil {
			return nil, n + 1, lastErr
		}
	}
	return nil, maxAttempts, lastErr
}

// once makes one attempt under its own timeout.
func once(ctx context.Context, timeout time.Duration, attempt func(ctx context.Context, client *http.Client) (*oauth2.Token, error)) (*oauth2.Token, error) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout = time.Until(d)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: timeout}
	return attempt(context.WithValue(ctx, oauth2.HTTPClient, client), client)
}

// fileProblem is what is wrong with the credentials file itself, found
// before any request; its message names the file and the fix.
type fileProblem struct{ error }

func (p fileProblem) Unwrap() error { return p.error }

func (s *Source) mintError(attempts int, err error) error {
	who := s.Account
	if who == "" {
		who = s.Kind
	}
	return fmt.Errorf("minting token for %s from %s failed after %d attempt(s): %s: %s",
		who, s.Origin, attempts, Sanitize(err, s.limits), s.nextStep(err))
}

// nextStep tells the user what to do about a failed mint.
func (s *Source) nextStep(err error) string {
	if s.Kind == GcloudCLI {
		return "run `gcloud auth login` and check that `gcloud config config-helper` works"
	}
	switch class, status := classify(err); class {
	case failTimeout:
		return "the endpoint did not answer in time: check the network or proxy, then retry"
	case failGarbage:
		return "the reply was not a token: a proxy or captive portal may be answering instead of Google"
	case failStatus:
		if status >= 500 || status == http.StatusTooManyRequests {
			return "Google's endpoint is failing: retry in a minute"
		}
		switch s.Kind {
		case credfile.AuthorizedUser:
			return s.loginFix()
		case credfile.ServiceAccount:
			return "the key may be deleted or disabled, or the account lacks permission: check it in the Cloud console or create a new key"
		}
		return "check that the credentials are still valid and allowed to mint tokens"
	}
	return "check the network, then retry"
}

// loginFix is the advice for a user login that Google refuses: running
// `gcloud auth application-default login` renews gcloud's own file, which
// is the fix only when that file is the one used; a file named by a flag or
// a variable beats it in the credential order and must be replaced.
func (s *Source) loginFix() string {
	named, _, _ := strings.Cut(s.Origin, " (")
	switch named {
	case "--credentials", "GCRCRED_CREDENTIALS", "GOOGLE_APPLICATION_CREDENTIALS":
		how := "pass another file to --credentials"
		if named != "--credentials" {
			how = "unset " + named + " to use gcloud's application default credentials"
		}
		return "the login in " + s.Path + " (named by " + named + ") may have expired or been revoked: replace that file with a fresh login, or " + how
	}
	return "the login may have expired or been revoked: run `gcloud auth application-default login`"
}

type failure int

const (
	failOther failure = iota
	failTimeout
	failGarbage
	failStatus
)

// classify sorts a mint error. oauth2 and its externalaccount package wrap
// transport errors with %v, so some of this has to read the message.
func classify(err error) (failure, int) {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		return failStatus, re.Response.StatusCode
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return failTimeout, 0
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Client.Timeout exceeded"), strings.Contains(msg, "deadline exceeded"), strings.Contains(msg, "i/o timeout"):
		return failTimeout, 0
	case strings.Contains(msg, "invalid character"), strings.Contains(msg, "cannot unmarshal"), strings.Contains(msg, "unexpected end of JSON"), strings.Contains(msg, "cannot parse json"), strings.Contains(msg, "unreadable token reply"):
		return failGarbage, 0
	}
	if i := strings.Index(msg, "status code "); i >= 0 { // externalaccount: "status code 500: ..."
		var code int
		if _, serr := fmt.Sscanf(msg[i:], "status code %d", &code); serr == nil {
			return failStatus, code
		}
	}
	return failOther, 0
}

// mintOnce makes one attempt; Retry bounds it.
func (s *Source) mintOnce(ctx context.Context, client *http.Client) (*oauth2.Token, error) {
	switch s.Kind {
	case Metadata:
		return metadataToken(ctx, client, s.metaHost, s.Scopes)
	case GcloudCLI:
		return gcloudToken(ctx, s.gcloud)
	}
	// The rules again, right before x/oauth2 reads the file: whatever
	// path built this Source, nothing is read or sent that they refuse.
	if err := credfile.Check(s.json, "credentials file "+s.Path, s.use); err != nil {
		return nil, permanent{fileProblem{err}}
	}
	if err := credfile.CheckSubjectTokenFile(s.json); err != nil {
		return nil, permanent{fileProblem{err}}
	}
	if err := credfile.CheckKey(s.json, s.Path); err != nil {
		return nil, permanent{fileProblem{err}}
	}
	// The typed loader: x/oauth2 refuses a file whose "type" is not the
	// one Discover checked.
	creds, err := google.CredentialsFromJSONWithTypeAndParams(ctx, s.json, google.CredentialsType(s.Kind), google.CredentialsParams{Scopes: s.Scopes})
	if err != nil {
		return nil, permanent{fmt.Errorf("loading %s credentials: %w", s.Kind, err)}
	}
	tok, err := creds.TokenSource.Token()
	if err != nil {
		return nil, err
	}
	if tok.AccessToken == "" {
		return nil, errors.New("token endpoint returned an empty access token")
	}
	if tok.Expiry.IsZero() {
		// Google always says; an endpoint that does not gets the usual hour.
		tok.Expiry = time.Now().Add(time.Hour)
	}
	return tok, nil
}

// permanent marks errors that retrying cannot fix.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// Permanent marks err as one that Retry must not retry.
func Permanent(err error) error { return permanent{err} }

func transient(err error) bool {
	var p permanent
	if errors.As(err, &p) {
		return false
	}
	var t interface{ Transient() bool }
	if errors.As(err, &t) {
		return t.Transient()
	}
	switch class, status := classify(err); class {
	case failStatus:
		return status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout
	default:
		// Timeouts, garbage and network errors may pass on a second try.
		return true
	}
}

// Sanitize renders a minting error for a human without anything that could
// be a secret: oauth2 errors carry the raw response body, url errors the
// request URL. lim says how long an attempt was given.
func Sanitize(err error, lim limits.Limits) string {
	if err == nil {
		return "unknown error"
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		msg := fmt.Sprintf("token endpoint %s answered %s", re.Response.Request.URL.Host, re.Response.Status)
		if re.ErrorCode != "" {
			msg += ": " + re.ErrorCode
			if re.ErrorDescription != "" {
				msg += " (" + re.ErrorDescription + ")"
			}
		}
		return logx.Redact(msg)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		host := ue.URL
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Host
		}
		var ne net.Error
		if errors.As(ue.Err, &ne) && ne.Timeout() {
			return fmt.Sprintf("no answer from %s within %s", host, lim.Attempt())
		}
		return fmt.Sprintf("request to %s failed: %s", host, logx.Redact(rootCause(ue.Err)))
	}
	switch class, _ := classify(err); class {
	case failTimeout:
		return fmt.Sprintf("no answer within %s", lim.Attempt())
	case failGarbage:
		return "the endpoint's reply was not valid JSON"
	}
	// Redacted before it is shortened: a PEM block or JWT cut in two no
	// longer has the shape Redact knows, and its first half would show.
	return cli.Clip(logx.Redact(err.Error()), 300)
}

func rootCause(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}

// KeyJSON returns the service-account key for json-key mode.
func (s *Source) KeyJSON() ([]byte, error) {
	if s.Kind != credfile.ServiceAccount {
		return nil, fmt.Errorf("GCRCRED_AUTH=json-key needs a service-account key, but %s holds %s credentials: point GCRCRED_CREDENTIALS at a key file or unset GCRCRED_AUTH", s.Origin, s.Kind)
	}
	return s.json, nil
}

// CacheKey is the cache identity (a digest of the credentials and
// scopes, not a secret), so doctor can name the cache file.
func (s *Source) CacheKey() string { return s.cacheKey }

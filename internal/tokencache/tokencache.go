// Package tokencache keeps access tokens on disk so that separate processes
// (every `docker pull` and every kubelet exec is a new one) share them. Like
// oauth2.ReuseTokenSource it wraps a token source and calls it only when the
// cached token is about to expire; unlike it, the cache outlives the process
// and a file lock makes concurrent cold starts mint once. The file format
// lives in internal/tokenstore.
package tokencache

import (
	"time"

	"golang.org/x/oauth2"

	"github.com/gcrcred/gcrcred/internal/logx"
	"github.com/gcrcred/gcrcred/internal/tokenstore"
)

// Margin is tokenstore.Margin: tokens with less than this to live are re-minted.
const Margin = tokenstore.Margin

// lockWait bounds how long a process waits for another one that is minting
// (which itself gives up after 20 s); after that it mints on its own.
const lockWait = 25 * time.Second

// DefaultDir is where tokens are cached when nothing says otherwise.
func DefaultDir() string { return tokenstore.DefaultDir() }

// Path is the cache file for key (doctor shows it).
func Path(dir, key string) string { return tokenstore.Path(dir, key) }

// Source is a disk-cached oauth2.TokenSource.
type Source struct {
	dir, key string
	src      oauth2.TokenSource
}

// New wraps src with the disk cache in dir, under the identity key (which
// must differ for different credentials or scopes).
func New(dir, key string, src oauth2.TokenSource) *Source {
	return &Source{dir: dir, key: key, src: src}
}

// Peek returns the cached token for key if there is one that has not expired.
func Peek(dir, key string) (*oauth2.Token, bool) {
	t := tokenstore.Read(dir, key)
	if t == nil || time.Until(t.Expiry) <= 0 {
		return nil, false
	}
	return toOAuth2(t), true
}

func toOAuth2(t *tokenstore.Token) *oauth2.Token {
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: t.TokenType, Expiry: t.Expiry}
}

// Token implements oauth2.TokenSource.
func (s *Source) Token() (*oauth2.Token, error) {
	// Fast path: no lock, no directory work. Writers rename complete files
	// into place, so a reader sees an old token or a new one, never half.
	if t := tokenstore.Read(s.dir, s.key); t.Fresh() {
		logx.Debugf("using cached token (expires %s)", t.Expiry.Format(time.RFC3339))
		return toOAuth2(t), nil
	}
	if err := tokenstore.EnsureDir(s.dir); err != nil {
		logx.Debugf("token cache unusable, minting without it: %v", err)
		return s.src.Token()
	}
	unlock, locked, err := tokenstore.Lock(s.dir, s.key, lockWait)
	defer unlock()
	if !locked {
		logx.Debugf("token cache lock not acquired (%v); minting without it", err)
	}
	// Another process may have minted while we waited for the lock.
	stale := tokenstore.Read(s.dir, s.key)
	if stale.Fresh() {
		return toOAuth2(stale), nil
	}
	tok, err := s.src.Token()
	if err != nil {
		if stale != nil && time.Until(stale.Expiry) > 30*time.Second {
			logx.Warnf("could not mint a new token, using the cached one that expires %s: %v", stale.Expiry.Format(time.RFC3339), err)
			return toOAuth2(stale), nil
		}
		return nil, err
	}
	if err := tokenstore.Write(s.dir, s.key, tokenstore.Token{AccessToken: tok.AccessToken, TokenType: tok.TokenType, Expiry: tok.Expiry}); err != nil {
		logx.Debugf("could not write the token cache in %s: %v", s.dir, err)
	}
	return tok, nil
}

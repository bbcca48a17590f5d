// Package cache keeps access tokens on disk so that separate processes
// (every `docker pull` and every kubelet exec is a new one) share them. Like
// oauth2.ReuseTokenSource, Source wraps a token source and calls it only when
// the cached token is about to expire; unlike it, the cache outlives the
// process, and a file lock makes concurrent cold starts mint once.
//
// What is on disk is believed only if gcrcred itself could have written it
// (internal/privdir): a directory of the effective user's that no one else
// can write, a 0600 regular file of theirs, for this identity and scopes,
// expiring within MaxLifetime. Anything else is a miss. A directory that
// fails the rules means working without a disk cache: mint, answer, write
// nothing; a pull never fails over the cache.
package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"path/filepath"
	"time"

	"golang.org/x/oauth2"

	"github.com/gcrcred/gcrcred/internal/logx"
	"github.com/gcrcred/gcrcred/internal/privdir"
)

// Margin: a cached token is re-minted once it has less than this to live, so
// a pull that starts with it never finishes with a dead token. The kubelet
// provider subtracts the same margin from its cacheDuration.
const Margin = 5 * time.Minute

// MaxLifetime is the longest a Google access token lives; a cache entry
// claiming more is not one gcrcred wrote.
const MaxLifetime = 12 * time.Hour

// staleUse: when minting fails, a cached token with more than this to live
// is served (with a warning) rather than failing the pull.
const staleUse = 30 * time.Second

const (
	formatVersion = 1
	maxFileSize   = 64 << 10
)

// entry is the file format. Key is stored so that a file written for other
// credentials (a hash collision, a copied file) is never served.
type entry struct {
	Version     int       `json:"version"`
	Key         string    `json:"key"`
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type,omitempty"`
	Expiry      time.Time `json:"expiry"`
}

// fileName is the cache file for key inside the cache directory.
func fileName(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:16]) + ".json"
}

// Path is the cache file for key (doctor shows it).
func Path(dir, key string) string { return filepath.Join(dir, fileName(key)) }

// read returns the token cached for key in d, or nil: a missing, foreign,
// corrupt or implausible file is a miss, never an error.
func read(d *privdir.Dir, key string) *oauth2.Token {
	b, err := d.ReadFile(fileName(key), maxFileSize)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			logx.Debugf("ignoring the cache file for this identity: %v", err)
		}
		return nil
	}
	var e entry
	if err := json.Unmarshal(b, &e); err != nil || e.Version != formatVersion || e.Key != key || e.AccessToken == "" {
		logx.Debugf("ignoring %s: not a cache entry for this identity and scopes", Path(d.Path(), key))
		return nil
	}
	if time.Until(e.Expiry) > MaxLifetime {
		logx.Debugf("ignoring %s: it claims to live longer than any Google token", Path(d.Path(), key))
		return nil
	}
	return &oauth2.Token{AccessToken: e.AccessToken, TokenType: e.TokenType, Expiry: e.Expiry}
}

func write(d *privdir.Dir, key string, tok *oauth2.Token) error {
	b, err := json.Marshal(entry{Version: formatVersion, Key: key, AccessToken: tok.AccessToken, TokenType: tok.TokenType, Expiry: tok.Expiry})
	if err != nil {
		return err
	}
	return d.WriteFile(fileName(key), b)
}

// fresh reports whether t lives longer than Margin.
func fresh(t *oauth2.Token) bool { return t != nil && time.Until(t.Expiry) > Margin }

// Peek returns the cached token for key if there is one that has not expired,
// without minting or creating anything.
func Peek(dir, key string) (*oauth2.Token, bool) {
	d, err := privdir.Open(dir, false)
	if err != nil {
		return nil, false
	}
	defer d.Close()
	t := read(d, key)
	if t == nil || time.Until(t.Expiry) <= 0 {
		return nil, false
	}
	return t, true
}

// Source is a disk-cached oauth2.TokenSource.
type Source struct {
	dir, key string
	src      oauth2.TokenSource
	lockWait time.Duration
}

// New wraps src with the disk cache in dir (internal/settings resolves the
// user's; "": none, every Token mints), under the identity key (which must
// differ for different credentials or scopes). A process waits up to
// lockWait for another that is minting the same token.
func New(dir, key string, src oauth2.TokenSource, lockWait time.Duration) *Source {
	return &Source{dir: dir, key: key, src: src, lockWait: lockWait}
}

// Token implements oauth2.TokenSource.
func (s *Source) Token() (*oauth2.Token, error) {
	if s.dir == "" {
		return s.src.Token()
	}
	// Warm path: open, read, answer. No lock, nothing created: writers
	// rename complete files into place, so a reader sees an old token or a
	// new one, never half.
	if d, err := privdir.Open(s.dir, false); err == nil {
		t := read(d, s.key)
		d.Close()
		if fresh(t) {
			logx.Debugf("using cached token (expires %s)", t.Expiry.Format(time.RFC3339))
			return t, nil
		}
	}
	d, err := privdir.Open(s.dir, true)
	if err != nil {
		logx.Debugf("not using the token cache %s (%v): minting without it", s.dir, err)
		return s.src.Token()
	}
	defer d.Close()
	name := fileName(s.key)
	unlock, err := d.Lock(name+lockSuffix, s.lockWait)
	defer func() { unlock() }()
	locked := err == nil
	if err != nil {
		logx.Debugf("token cache lock not taken (%v); minting without it", err)
	}
	// Another process may have minted while we waited for the lock.
	stale := read(d, s.key)
	if fresh(stale) {
		return stale, nil
	}
	tok, err := s.src.Token()
	if err != nil {
		if stale != nil && time.Until(stale.Expiry) > staleUse {
			logx.Warnf("could not mint a new token, using the cached one that expires %s: %v", stale.Expiry.Format(time.RFC3339), err)
			return stale, nil
		}
		if locked && (stale == nil || !time.Now().Before(stale.Expiry)) {
			// Nothing worth keeping: no file stays behind for an identity
			// that cannot mint (a bogus annotation, say).
			removeEntry(d, name)
		}
		return nil, err
	}
	if err := write(d, s.key, clamp(tok)); err != nil {
		logx.Debugf("could not write the token cache in %s: %v", s.dir, err)
	}
	unlock()
	unlock = func() {}
	prune(d, time.Now())
	return tok, nil
}

// clamp caps what is cached at MaxLifetime, so the entry is believed on
// reading even if an endpoint claimed a longer life; a token with no
// expiry is kept for the usual hour of a Google access token.
func clamp(t *oauth2.Token) *oauth2.Token {
	now := time.Now()
	c := *t
	switch {
	case t.Expiry.IsZero():
		c.Expiry = now.Add(time.Hour)
	case t.Expiry.After(now.Add(MaxLifetime)):
		c.Expiry = now.Add(MaxLifetime)
	default:
		return t
	}
	return &c
}

// Package tokencache keeps access tokens on disk so that separate processes
// (every `docker pull` and every kubelet exec is a new one) share them. Like
// oauth2.ReuseTokenSource it wraps a token source and calls it only when the
// cached token is about to expire; unlike it, the cache outlives the process
// and a file lock makes concurrent cold starts mint once.
package tokencache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
	"golang.org/x/oauth2"

	"github.com/gcrcred/gcrcred/internal/atomicfile"
	"github.com/gcrcred/gcrcred/internal/logx"
)

// Margin: a cached token is re-minted once it has less than this to live, so
// a pull that starts with it never finishes with a dead token. The kubelet
// provider subtracts the same margin from its cacheDuration.
const Margin = 5 * time.Minute

// lockWait bounds how long a process waits for another one that is minting
// (which itself gives up after 20 s); after that it mints on its own.
const lockWait = 25 * time.Second

const formatVersion = 1

// entry is the file format. Key is stored so that a file written for other
// credentials (a hash collision, a copied file) is never served.
type entry struct {
	Version     int       `json:"version"`
	Key         string    `json:"key"`
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type,omitempty"`
	Expiry      time.Time `json:"expiry"`
}

// DefaultDir is GCRCRED_CACHE_DIR, else $XDG_CACHE_HOME/gcrcred, else
// ~/.cache/gcrcred; with no HOME (systemd units) /var/cache/gcrcred for root
// and a per-user directory under the temp dir for others.
func DefaultDir() string {
	if d := os.Getenv("GCRCRED_CACHE_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "gcrcred")
	}
	if h := os.Getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache", "gcrcred")
	}
	if os.Geteuid() == 0 {
		return "/var/cache/gcrcred"
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("gcrcred-%d", os.Geteuid()))
}

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
	tok := read(path(dir, key), key)
	return tok, tok != nil && time.Until(tok.Expiry) > 0
}

// Path is the cache file for key (doctor shows it).
func Path(dir, key string) string { return path(dir, key) }

func path(dir, key string) string {
	h := sha256.Sum256([]byte(key))
	return filepath.Join(dir, hex.EncodeToString(h[:16])+".json")
}

func fresh(t *oauth2.Token) bool { return t != nil && time.Until(t.Expiry) > Margin }

// Token implements oauth2.TokenSource.
func (s *Source) Token() (*oauth2.Token, error) {
	file := path(s.dir, s.key)
	// Fast path: no lock, no directory work. Writers rename complete files
	// into place, so a reader sees an old token or a new one, never half.
	if tok := read(file, s.key); fresh(tok) {
		logx.Debugf("using cached token from %s (expires %s)", file, tok.Expiry.Format(time.RFC3339))
		return tok, nil
	}
	if err := ensureDir(s.dir); err != nil {
		logx.Debugf("token cache unusable, minting without it: %v", err)
		return s.src.Token()
	}
	lock := flock.New(file + ".lock")
	ctx, cancel := context.WithTimeout(context.Background(), lockWait)
	locked, err := lock.TryLockContext(ctx, 10*time.Millisecond)
	cancel()
	if locked {
		defer lock.Unlock()
	} else {
		logx.Debugf("token cache lock not acquired (%v); minting without it", err)
	}
	// Another process may have minted while we waited for the lock.
	stale := read(file, s.key)
	if fresh(stale) {
		return stale, nil
	}
	tok, err := s.src.Token()
	if err != nil {
		if stale != nil && time.Until(stale.Expiry) > 30*time.Second {
			logx.Warnf("could not mint a new token, using the cached one that expires %s: %v", stale.Expiry.Format(time.RFC3339), err)
			return stale, nil
		}
		return nil, err
	}
	if err := write(file, s.key, tok); err != nil {
		logx.Debugf("could not write token cache %s: %v", file, err)
	}
	return tok, nil
}

// read returns the cached token or nil; a corrupt or foreign file is a miss.
func read(file, key string) *oauth2.Token {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var e entry
	if err := json.Unmarshal(b, &e); err != nil || e.Version != formatVersion || e.Key != key || e.AccessToken == "" {
		logx.Debugf("ignoring unusable cache file %s", file)
		return nil
	}
	return &oauth2.Token{AccessToken: e.AccessToken, TokenType: e.TokenType, Expiry: e.Expiry}
}

// write replaces file atomically with a 0600 file.
func write(file, key string, tok *oauth2.Token) error {
	b, err := json.Marshal(entry{Version: formatVersion, Key: key, AccessToken: tok.AccessToken, TokenType: tok.TokenType, Expiry: tok.Expiry})
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(file, b, 0o600)
}

// ensureDir creates dir 0700, tightens it if it is ours and looser, and
// refuses a directory someone else owns (a squatted /tmp path).
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if owner, ok := ownerOf(fi); ok && owner != os.Geteuid() {
		return fmt.Errorf("%s belongs to uid %d, not to us", dir, owner)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil && !errors.Is(err, fs.ErrPermission) {
			return err
		}
	}
	return nil
}

// Package tokenstore is the on-disk format of gcrcred's token cache: one
// 0600 JSON file per credential identity in a 0700 directory, replaced
// atomically and guarded by a file lock. It imports no HTTP or OAuth code,
// so the warm path (internal/fastpath) can read it without paying for their
// start-up; internal/tokencache builds the caching oauth2.TokenSource on it.
package tokenstore

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

	"github.com/gcrcred/gcrcred/internal/atomicfile"
)

// Margin: a cached token is re-minted once it has less than this to live, so
// a pull that starts with it never finishes with a dead token. The kubelet
// provider subtracts the same margin from its cacheDuration.
const Margin = 5 * time.Minute

const formatVersion = 1

// Token is a cached access token.
type Token struct {
	AccessToken string
	TokenType   string
	Expiry      time.Time
}

// Fresh reports whether t lives longer than Margin.
func (t *Token) Fresh() bool { return t != nil && time.Until(t.Expiry) > Margin }

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

// Path is the cache file for key.
func Path(dir, key string) string {
	h := sha256.Sum256([]byte(key))
	return filepath.Join(dir, hex.EncodeToString(h[:16])+".json")
}

// Read returns the token cached for key, or nil when there is none or the
// file is corrupt or belongs to other credentials (a miss, never an error).
func Read(dir, key string) *Token {
	b, err := os.ReadFile(Path(dir, key))
	if err != nil {
		return nil
	}
	var e entry
	if err := json.Unmarshal(b, &e); err != nil || e.Version != formatVersion || e.Key != key || e.AccessToken == "" {
		return nil
	}
	return &Token{AccessToken: e.AccessToken, TokenType: e.TokenType, Expiry: e.Expiry}
}

// Write stores tok for key, atomically, 0600.
func Write(dir, key string, tok Token) error {
	b, err := json.Marshal(entry{Version: formatVersion, Key: key, AccessToken: tok.AccessToken, TokenType: tok.TokenType, Expiry: tok.Expiry})
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(Path(dir, key), b, 0o600)
}

// Lock takes the per-key file lock, waiting at most wait. ok is false when
// it was not acquired; unlock is always safe to call.
func Lock(dir, key string, wait time.Duration) (unlock func(), ok bool, err error) {
	lock := flock.New(Path(dir, key) + ".lock")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ok, err = lock.TryLockContext(ctx, 10*time.Millisecond)
	if !ok {
		return func() {}, false, err
	}
	return func() { lock.Unlock() }, true, nil
}

// EnsureDir creates dir 0700, tightens it if it is ours and looser, and
// refuses a directory someone else owns (a squatted /tmp path).
func EnsureDir(dir string) error {
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

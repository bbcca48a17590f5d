// Package logins keeps the service-account keys given to
// `docker login -u _json_key`: one 0600 file per registry host in a 0700
// directory. It is read on every Docker `get`, so it stays light.
package logins

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gcrcred/gcrcred/internal/atomicfile"
)

// Store is the directory of kept logins; an empty Dir (no HOME) keeps none.
type Store struct{ Dir string }

// FromEnv: $GCRCRED_CONFIG_DIR/logins, else $XDG_CONFIG_HOME/gcrcred/logins,
// else ~/.config/gcrcred/logins. Empty Dir (no HOME) means none.
func FromEnv() Store {
	base := os.Getenv("GCRCRED_CONFIG_DIR")
	switch {
	case base != "":
	case os.Getenv("XDG_CONFIG_HOME") != "":
		base = filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "gcrcred")
	case os.Getenv("HOME") != "":
		base = filepath.Join(os.Getenv("HOME"), ".config", "gcrcred")
	default:
		return Store{}
	}
	return Store{Dir: filepath.Join(base, "logins")}
}

func (l Store) file(host string) string {
	// Hosts may carry a port; ':' is fine in file names on unix but not elsewhere.
	return filepath.Join(l.Dir, strings.ReplaceAll(host, ":", "_")+".json")
}

// KeyFile is the stored key for host, or "" (one stat: this is on the get path).
func (l Store) KeyFile(host string) string {
	if l.Dir == "" || host == "" {
		return ""
	}
	f := l.file(host)
	if _, err := os.Stat(f); err != nil {
		return ""
	}
	return f
}

// Save stores key for host atomically with mode 0600.
func (l Store) Save(host string, key []byte) error {
	if l.Dir == "" {
		return errors.New("gcrcred: nowhere to keep the login: set HOME or GCRCRED_CONFIG_DIR")
	}
	if err := os.MkdirAll(l.Dir, 0o700); err != nil {
		return fmt.Errorf("gcrcred: keeping login for %s: %w", host, err)
	}
	if err := atomicfile.WriteFile(l.file(host), key, 0o600); err != nil {
		return fmt.Errorf("gcrcred: keeping login for %s: %w", host, err)
	}
	return nil
}

// Remove forgets host's key.
func (l Store) Remove(host string) error {
	if l.Dir == "" {
		return nil
	}
	if err := os.Remove(l.file(host)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("gcrcred: removing login for %s: %w", host, err)
	}
	return nil
}

// Hosts lists the hosts with a stored key.
func (l Store) Hosts() ([]string, error) {
	if l.Dir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(l.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var hosts []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() {
			hosts = append(hosts, strings.ReplaceAll(name, "_", ":"))
		}
	}
	return hosts, err
}

// Package logins keeps the service-account keys given to
// `docker login -u _json_key`: one 0600 file per registry host in a 0700
// directory of the user's (internal/privdir), believed only if the user's
// own gcrcred could have written it. It is read on every Docker `get`.
package logins

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/gcrcred/gcrcred/internal/credfile"
	"github.com/gcrcred/gcrcred/internal/logx"
	"github.com/gcrcred/gcrcred/internal/privdir"
)

// maxKeySize bounds a kept key; a service-account key is about 2.4 KiB.
const maxKeySize = 64 << 10

// Store is the directory of kept logins (internal/settings resolves the
// user's: LoginsDir); an empty Dir (no HOME) keeps none.
type Store struct{ Dir string }

// fileName is host's file: ':' (a port) is kept out of file names.
func fileName(host string) string { return strings.ReplaceAll(host, ":", "_") + ".json" }

// Key returns the key kept for host, read as a credentials file, or nil. A
// kept file that fails the ownership rules or is not a key is ignored, with
// a note at debug level: the credential order applies as if it were absent.
func (l Store) Key(host string) *credfile.File {
	if l.Dir == "" || host == "" {
		return nil
	}
	d, err := privdir.Open(l.Dir, false)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			logx.Debugf("ignoring kept logins: %v", err)
		}
		return nil
	}
	defer d.Close()
	data, err := d.ReadFile(fileName(host), maxKeySize)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			logx.Debugf("ignoring the kept login for %s: %v", host, err)
		}
		return nil
	}
	path := filepath.Join(l.Dir, fileName(host))
	f, err := credfile.Parse(data, path, "`docker login` for "+host+" ("+path+")", credfile.Workstation)
	if err != nil || f.Kind != credfile.ServiceAccount {
		logx.Debugf("ignoring the kept login for %s: not a service-account key", host)
		return nil
	}
	return f
}

// Save keeps key for host.
func (l Store) Save(host string, key []byte) error {
	if l.Dir == "" {
		return errors.New("nowhere to keep the login: set HOME or GCRCRED_CONFIG_DIR")
	}
	d, err := privdir.Open(l.Dir, true)
	if err != nil {
		return fmt.Errorf("keeping the login for %s: %w", host, err)
	}
	defer d.Close()
	if err := d.WriteFile(fileName(host), key); err != nil {
		return fmt.Errorf("keeping the login for %s: %w", host, err)
	}
	return nil
}

// Remove forgets host's key.
func (l Store) Remove(host string) error {
	if l.Dir == "" {
		return nil
	}
	d, err := privdir.Open(l.Dir, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("removing the login for %s: %w", host, err)
	}
	defer d.Close()
	return d.Remove(fileName(host))
}

// Hosts lists the hosts with a kept key.
func (l Store) Hosts() ([]string, error) {
	if l.Dir == "" {
		return nil, nil
	}
	d, err := privdir.Open(l.Dir, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Names()
	var hosts []string
	for _, name := range names {
		if h, ok := strings.CutSuffix(name, ".json"); ok {
			hosts = append(hosts, strings.ReplaceAll(h, "_", ":"))
		}
	}
	return hosts, err
}

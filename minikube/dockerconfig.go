package minikube

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/gcrcred/gcrcred/internal/atomicfile"
	"github.com/gcrcred/gcrcred/internal/dockerconfig"
)

// dockerConfigState remembers, per Docker config file, how it was before
// gcrcred first touched it, so uninstall can give back the same bytes, mode
// and owner, or remove the file (and directory) it created.
type dockerConfigState struct {
	Existed    bool
	DirCreated bool
	Original   []byte // the file before install (may hold the user's logins: the state file is 0600)
	Mode       fs.FileMode
	UID, GID   int
	Written    string            // sha256 of what gcrcred last wrote
	Added      map[string]string // host -> the credHelpers value it replaced ("" = none)
}

type dockerStates map[string]*dockerConfigState

const dockerStateFile = NodeStateDir + "/docker-configs.json"

func (s nodeSetup) loadDockerStates() dockerStates {
	st := dockerStates{}
	if b, err := os.ReadFile(s.p(dockerStateFile)); err == nil {
		_ = json.Unmarshal(b, &st) // unreadable state: start afresh, remove by value at uninstall
	}
	return st
}

func (s nodeSetup) saveDockerStates(st dockerStates) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.p(NodeStateDir), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(s.p(dockerStateFile), b, 0o600)
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// addDockerHelpers points the hosts at gcrcred in one user's config.json,
// keeping everything else (helper.EditDockerConfig, as configure-docker).
func (s nodeSetup) addDockerHelpers(st dockerStates, u nodeUser, hosts []string) error {
	dir := filepath.Join(u.home, ".docker")
	file := filepath.Join(dir, "config.json")
	fi, err := os.Lstat(s.p(file))
	switch {
	case err == nil && fi.Mode()&fs.ModeSymlink != 0:
		// Root does not write through a link a user controls.
		return fmt.Errorf("%s is a symbolic link: point its target at gcrcred with `gcrcred configure-docker` as %s", file, u.name)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	state := st[file]
	if state == nil {
		state = &dockerConfigState{Mode: 0o600, UID: u.uid, GID: u.gid, Added: map[string]string{}}
		if err == nil {
			state.Existed, state.Mode = true, fi.Mode().Perm()
			state.UID, state.GID = ownerIDs(fi)
			if state.Original, err = os.ReadFile(s.p(file)); err != nil {
				return err
			}
		} else if _, derr := os.Stat(s.p(dir)); errors.Is(derr, fs.ErrNotExist) {
			state.DirCreated = true
		}
		st[file] = state
	}
	if state.DirCreated {
		if err := os.MkdirAll(s.p(dir), 0o700); err != nil {
			return err
		}
		if err := os.Chown(s.p(dir), u.uid, u.gid); err != nil {
			return err
		}
	}
	changed, err := dockerconfig.Edit(s.p(file), func(h map[string]string) []string {
		var changed []string
		for _, host := range hosts {
			if h[host] == dockerconfig.HelperName {
				continue
			}
			if _, seen := state.Added[host]; !seen {
				state.Added[host] = h[host]
			}
			h[host] = dockerconfig.HelperName
			changed = append(changed, host)
		}
		return changed
	})
	if err != nil {
		return err
	}
	if len(changed) > 0 {
		if err := os.Chown(s.p(file), state.UID, state.GID); err != nil {
			return err
		}
		s.note("credHelpers for %v in %s", changed, file)
	}
	b, err := os.ReadFile(s.p(file))
	if err != nil {
		return err
	}
	state.Written = sum(b)
	return nil
}

// restoreDockerConfig undoes addDockerHelpers: the file as it was if nobody
// changed it since, else only gcrcred's entries taken out (or put back to
// what they replaced).
func (s nodeSetup) restoreDockerConfig(file string, state *dockerConfigState) error {
	cur, err := os.ReadFile(s.p(file))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if sum(cur) == state.Written {
		if !state.Existed {
			if err := os.Remove(s.p(file)); err != nil {
				return err
			}
			if state.DirCreated {
				_ = os.Remove(s.p(filepath.Dir(file))) // only if empty
			}
			s.note("removed %s", file)
			return nil
		}
		if err := atomicfile.WriteFile(s.p(file), state.Original, state.Mode); err != nil {
			return err
		}
		s.note("restored %s", file)
		return os.Chown(s.p(file), state.UID, state.GID)
	}
	return s.removeDockerHelpers(file, state.Added, state.UID, state.GID)
}

// removeDockerHelpers takes out the credHelpers entries that point at
// gcrcred; with a record of what they replaced, it puts that back.
func (s nodeSetup) removeDockerHelpers(file string, added map[string]string, uid, gid int) error {
	changed, err := dockerconfig.Edit(s.p(file), func(h map[string]string) []string {
		var changed []string
		for host, v := range h {
			if v != dockerconfig.HelperName {
				continue
			}
			prev, known := added[host]
			if added != nil && !known {
				continue // the user pointed it at gcrcred: theirs
			}
			if prev == "" {
				delete(h, host)
			} else {
				h[host] = prev
			}
			changed = append(changed, host)
		}
		sort.Strings(changed)
		return changed
	})
	if err != nil || len(changed) == 0 {
		return err
	}
	s.note("took gcrcred's credHelpers out of %s", file)
	return os.Chown(s.p(file), uid, gid)
}

func ownerIDs(fi fs.FileInfo) (int, int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return 0, 0
}

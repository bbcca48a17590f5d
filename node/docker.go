package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/gcrcred/gcrcred/internal/atomicfile"
	"github.com/gcrcred/gcrcred/internal/dockerconfig"
	"github.com/gcrcred/gcrcred/internal/fileowner"
	"github.com/gcrcred/gcrcred/internal/nodeexec"
)

// Docker on a node asks credHelpers in the user's ~/.docker/config.json;
// `gcrcred node install --docker-users` points them at gcrcred, through
// internal/dockerconfig (the same rules as configure-docker: everything
// else kept, mode and owner kept, foreign symbolic links refused), and
// remembers how each file was, so uninstall gives it back.

// dockerState is one config.json before gcrcred first changed it.
type dockerState struct {
	Existed    bool              `json:"existed"`
	DirCreated bool              `json:"dirCreated,omitempty"`
	Original   []byte            `json:"original,omitempty"` // may hold the user's logins: the state file is 0600
	Mode       fs.FileMode       `json:"mode,omitempty"`
	UID        int               `json:"uid"`
	GID        int               `json:"gid"`
	Written    string            `json:"written,omitempty"` // sha256 of what gcrcred last wrote
	Added      map[string]string `json:"added"`             // host -> the credHelpers value it replaced ("" = none)
}

// dockerStates are kept apart from the install record: `node boot` adds
// to them at each kubelet start, while install may be rolling back.
type dockerStates map[string]*dockerState // by node path of config.json

const dockerStateFile = StateDir + "/docker-configs.json"

func loadDockerStates(r nodeexec.Root) (dockerStates, bool) {
	st := dockerStates{}
	hp, err := r.Path(dockerStateFile)
	if err != nil {
		return st, false
	}
	b, err := os.ReadFile(hp)
	if err != nil {
		return st, false
	}
	if json.Unmarshal(b, &st) != nil {
		return dockerStates{}, false // unreadable: uninstall takes gcrcred's entries out by value
	}
	return st, true
}

func saveDockerStates(r nodeexec.Root, st dockerStates) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	hp, err := r.Path(dockerStateFile)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(hp, b, 0o600)
}

// dockerConfigPath is a user's config.json on this machine: its node path
// and where to write. Under a root that is not this machine's, a
// symbolically linked config.json is refused (its target means a path on
// the node, which only the node can resolve safely); on the node itself
// dockerconfig.Resolve decides.
func dockerConfigPath(r nodeexec.Root, u user) (nodePath, hostPath string, err error) {
	nodePath = path.Join(u.home, ".docker", "config.json")
	hostPath, err = r.Path(nodePath)
	if err != nil {
		return "", "", err
	}
	fi, err := os.Lstat(hostPath)
	if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if !r.IsHost() {
			return "", "", fmt.Errorf("%s is a symbolic link: point its target at gcrcred with `gcrcred configure-docker` as %s", nodePath, u.name)
		}
		if hostPath, err = dockerconfig.Resolve(hostPath); err != nil {
			return "", "", err
		}
	}
	return nodePath, hostPath, nil
}

// addDockerHelpers points hosts at gcrcred in one user's config.json.
func addDockerHelpers(r nodeexec.Root, st dockerStates, u user, hosts []string, n *notes) error {
	home, err := r.Path(u.home)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(home); err != nil || !fi.IsDir() {
		n.say("%s has no home directory %s: no Docker config for it", u.name, u.home)
		return nil
	}
	file, hp, err := dockerConfigPath(r, u)
	if err != nil {
		return err
	}
	state := st[file]
	if state == nil {
		state = &dockerState{Added: map[string]string{}}
		fi, err := os.Stat(hp)
		switch {
		case err == nil:
			state.Existed, state.Mode = true, fi.Mode().Perm()
			state.UID, state.GID, _ = fileowner.Of(fi)
			if state.Original, err = os.ReadFile(hp); err != nil {
				return err
			}
		case errors.Is(err, fs.ErrNotExist):
			if _, derr := os.Stat(filepath.Dir(hp)); errors.Is(derr, fs.ErrNotExist) {
				state.DirCreated = true
			}
		default:
			return err
		}
	}
	changed, err := dockerconfig.Edit(hp, func(h map[string]string) []string {
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
	if st[file] == nil && len(changed) == 0 {
		return nil // already pointed at gcrcred by its user: theirs, nothing to undo
	}
	st[file] = state
	if len(changed) > 0 {
		n.change("docker    %s: credHelpers %v -> gcrcred", file, changed)
	}
	b, err := os.ReadFile(hp)
	if err != nil {
		return err
	}
	state.Written = sum(b)
	return nil
}

// restoreDockerConfig undoes addDockerHelpers: the file as it was if nobody
// changed it since, else only gcrcred's entries taken out (or put back to
// what they replaced).
func restoreDockerConfig(r nodeexec.Root, file string, state *dockerState, n *notes) error {
	hp, err := r.Path(file)
	if err != nil {
		return err
	}
	if fi, err := os.Lstat(hp); err == nil && fi.Mode()&fs.ModeSymlink != 0 && r.IsHost() {
		if hp, err = dockerconfig.Resolve(hp); err != nil {
			return err
		}
	}
	cur, err := os.ReadFile(hp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if sum(cur) != state.Written {
		return removeDockerHelpers(hp, file, state.Added, n)
	}
	if !state.Existed {
		if err := os.Remove(hp); err != nil {
			return err
		}
		if state.DirCreated {
			_ = os.Remove(filepath.Dir(hp)) // only if empty
		}
		n.change("docker    removed %s", file)
		return nil
	}
	if err := atomicfile.WriteFileOwned(hp, state.Original, state.Mode, &atomicfile.Owner{UID: state.UID, GID: state.GID}); err != nil {
		return err
	}
	n.change("docker    restored %s", file)
	return nil
}

// removeDockerHelpers takes out the credHelpers entries that point at
// gcrcred; with a record of what they replaced, only those, put back.
func removeDockerHelpers(hp, file string, added map[string]string, n *notes) error {
	changed, err := dockerconfig.Edit(hp, func(h map[string]string) []string {
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
	if err == nil && len(changed) > 0 {
		n.change("docker    took gcrcred's credHelpers out of %s", file)
	}
	return err
}

// setupDocker points each user's Docker at gcrcred and records how their
// configs were.
func setupDocker(r nodeexec.Root, users []string, hosts []string, n *notes) error {
	if len(users) == 0 {
		return nil
	}
	st, _ := loadDockerStates(r)
	before := len(st)
	var errs []error
	for _, name := range users {
		u, ok := lookupUser(r, name)
		if !ok {
			n.say("no user %s on this node: no Docker config for it", name)
			continue
		}
		if err := addDockerHelpers(r, st, u, hosts, n); err != nil {
			errs = append(errs, err)
		}
	}
	if len(st) > 0 && (len(st) != before || n.changed > 0) {
		errs = append(errs, saveDockerStates(r, st))
	}
	return errors.Join(errs...)
}

// undoDocker gives every Docker config gcrcred changed back; without a
// record (a VM node's RAM root lost it), it takes gcrcred's entries out of
// the given users' configs by value.
func undoDocker(r nodeexec.Root, users []string, n *notes) error {
	st, ok := loadDockerStates(r)
	var errs []error
	for file, state := range st {
		errs = append(errs, restoreDockerConfig(r, file, state, n))
	}
	if !ok {
		for _, name := range users {
			u, found := lookupUser(r, name)
			if !found {
				continue
			}
			file, hp, err := dockerConfigPath(r, u)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if _, err := os.Stat(hp); err == nil {
				errs = append(errs, removeDockerHelpers(hp, file, nil, n))
			}
		}
	}
	if hp, err := r.Path(dockerStateFile); err == nil {
		if err := os.Remove(hp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

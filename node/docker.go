package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"syscall"

	"github.com/gcrcred/gcrcred/internal/atomicfile"
	"github.com/gcrcred/gcrcred/internal/dockerconfig"
	"github.com/gcrcred/gcrcred/internal/noderoot"
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

func loadDockerStates(r *noderoot.Root) (dockerStates, bool) {
	st := dockerStates{}
	b, info, err := r.ReadFile(dockerStateFile, maxTextFile)
	if err != nil || !info.Trusted() {
		return st, false
	}
	if json.Unmarshal(b, &st) != nil {
		return dockerStates{}, false // unreadable: uninstall takes gcrcred's entries out by value
	}
	return st, true
}

func saveDockerStates(r *noderoot.Root, st dockerStates) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeStateFile(r, dockerStateFile, b, 0o600)
}

// dockerConfigFile is the node path of a user's config.json.
func dockerConfigFile(u user) string { return path.Join(u.home, ".docker", "config.json") }

// openDockerConfig opens a user's config.json through their home
// directory, opened under the root without following a link: the home
// must be the user's (or root's), and a link at ~/.docker or config.json
// is refused (see dockerconfig.OpenIn). With create, a missing ~/.docker is
// made. A user without a home directory has no config (nil, nil).
func openDockerConfig(r *noderoot.Root, u user, create bool) (*dockerconfig.File, error) {
	home, err := r.OpenDir(u.home)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer home.Close()
	if owner := home.Info().UID; owner != u.uid && owner != 0 {
		return nil, fmt.Errorf("%s, the home of %s, belongs to uid %d: gcrcred writes a user's Docker config only in a home of their own", u.home, u.name, owner)
	}
	return dockerconfig.OpenIn(home.File(), u.home, create)
}

// addDockerHelpers points hosts at gcrcred in one user's config.json.
func addDockerHelpers(r *noderoot.Root, st dockerStates, u user, hosts []string, n *notes) error {
	f, err := openDockerConfig(r, u, true)
	if err != nil {
		return err
	}
	if f == nil {
		n.say("%s has no home directory %s: no Docker config for it", u.name, u.home)
		return nil
	}
	defer f.Close()
	file := dockerConfigFile(u)
	state := st[file]
	if state == nil {
		state = &dockerState{Added: map[string]string{}, DirCreated: f.DirCreated()}
		data, info, err := f.Read()
		if err != nil {
			return err
		}
		if info != nil {
			state.Existed, state.Original = true, data
			state.Mode, state.UID, state.GID = info.Mode, info.UID, info.GID
		}
	}
	changed, err := f.Edit(func(h map[string]string) []string {
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
	b, _, err := f.Read()
	if err != nil {
		return err
	}
	state.Written = sum(b)
	return nil
}

// restoreDockerConfig undoes addDockerHelpers: the file as it was if nobody
// changed it since, else only gcrcred's entries taken out (or put back to
// what they replaced).
func restoreDockerConfig(r *noderoot.Root, file string, state *dockerState, n *notes) error {
	if path.Base(file) != "config.json" || path.Base(path.Dir(file)) != ".docker" {
		return fmt.Errorf("%s is not a Docker config gcrcred wrote", file)
	}
	home := path.Dir(path.Dir(file))
	hi, err := r.Lstat(home)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	f, err := openDockerConfig(r, user{name: home, uid: hi.UID, home: home}, false)
	if err != nil || f == nil {
		return err
	}
	defer f.Close()
	cur, info, err := f.Read()
	if err != nil || info == nil {
		return err
	}
	if sum(cur) != state.Written {
		return removeDockerHelpers(f, file, state.Added, n)
	}
	if !state.Existed {
		if err := f.Remove(state.DirCreated); err != nil {
			return err
		}
		n.change("docker    removed %s", file)
		return nil
	}
	if err := f.Write(state.Original, state.Mode, atomicfile.Owner{UID: state.UID, GID: state.GID}); err != nil {
		return err
	}
	n.change("docker    restored %s", file)
	return nil
}

// removeDockerHelpers takes out the credHelpers entries that point at
// gcrcred; with a record of what they replaced, only those, put back.
func removeDockerHelpers(f *dockerconfig.File, file string, added map[string]string, n *notes) error {
	changed, err := f.Edit(func(h map[string]string) []string {
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
func setupDocker(r *noderoot.Root, users []string, hosts []string, n *notes) error {
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
func undoDocker(r *noderoot.Root, users []string, n *notes) error {
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
			file := dockerConfigFile(u)
			f, err := openDockerConfig(r, u, false)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if f == nil {
				continue
			}
			if _, info, err := f.Read(); err != nil {
				errs = append(errs, err)
			} else if info != nil {
				errs = append(errs, removeDockerHelpers(f, file, nil, n))
			}
			f.Close()
		}
	}
	errs = append(errs, removeNodeFile(r, dockerStateFile))
	return errors.Join(errs...)
}

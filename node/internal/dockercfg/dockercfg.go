// Package dockercfg points the Docker of a node's users at gcrcred:
// credHelpers in each user's ~/.docker/config.json, through
// internal/dockerconfig (the same rules as configure-docker: everything
// else kept, mode and owner kept, foreign symbolic links refused), with
// how each file was kept in nodelayout.DockerStateFile so that uninstall
// gives it back.
package dockercfg

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
	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/node/internal/record"
)

// Notes is where changes are said, one line each.
type Notes interface {
	Change(format string, args ...any)
	Say(format string, args ...any)
}

// fileState is one config.json before gcrcred first changed it.
type fileState struct {
	Existed    bool              `json:"existed"`
	DirCreated bool              `json:"dirCreated,omitempty"`
	Original   []byte            `json:"original,omitempty"` // may hold the user's logins: the state file is 0600
	Mode       fs.FileMode       `json:"mode,omitempty"`
	UID        int               `json:"uid"`
	GID        int               `json:"gid"`
	Written    string            `json:"written,omitempty"` // sha256 of what gcrcred last wrote
	Added      map[string]string `json:"added"`             // host -> the credHelpers value it replaced ("" = none)
}

// States are kept apart from the install record: `node boot` adds to them
// at each kubelet start, while install may be rolling back.
type States map[string]*fileState // by node path of config.json

const stateFile = nodelayout.DockerStateFile

// files are the configs in name order: what uninstall says comes out the
// same way each time.
func (st States) files() []string {
	files := make([]string, 0, len(st))
	for f := range st {
		files = append(files, f)
	}
	sort.Strings(files)
	return files
}

// Load reads the states; ok is false without a file root alone wrote.
func Load(r *noderoot.Root) (st States, ok bool) {
	st = States{}
	b, info, err := r.ReadFile(stateFile, noderoot.MaxText)
	if err != nil || !info.Trusted() {
		return st, false
	}
	if json.Unmarshal(b, &st) != nil {
		return States{}, false // unreadable: uninstall takes gcrcred's entries out by value
	}
	return st, true
}

func save(r *noderoot.Root, st States) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return r.PutIfChanged(stateFile, b, 0o600)
}

// ConfigFile is the node path of a user's config.json.
func ConfigFile(u noderoot.User) string { return path.Join(u.Home, ".docker", "config.json") }

// Open opens a user's config.json through their home
// directory, opened under the root without following a link: the home
// must be the user's (or root's), and a link at ~/.docker or config.json
// is refused (see dockerconfig.OpenIn). With create, a missing ~/.docker is
// made. A user without a home directory has no config (nil, nil).
func Open(r *noderoot.Root, u noderoot.User, create bool) (*dockerconfig.File, error) {
	home, err := r.OpenDir(u.Home)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer home.Close()
	if owner := home.Info().UID; owner != u.UID && owner != 0 {
		return nil, fmt.Errorf("%s, the home of %s, belongs to uid %d: gcrcred writes a user's Docker config only in a home of their own", u.Home, u.Name, owner)
	}
	return dockerconfig.OpenIn(home.File(), u.Home, create)
}

// addDockerHelpers points hosts at gcrcred in one user's config.json.
func add(r *noderoot.Root, st States, u noderoot.User, hosts []string, n Notes) error {
	f, err := Open(r, u, true)
	if err != nil {
		return err
	}
	if f == nil {
		n.Say("%s has no home directory %s: no Docker config for it", u.Name, u.Home)
		return nil
	}
	defer f.Close()
	file := ConfigFile(u)
	state := st[file]
	if state == nil {
		state = &fileState{Added: map[string]string{}, DirCreated: f.DirCreated()}
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
		n.Change("docker    %s: credHelpers %v -> gcrcred", file, changed)
	}
	b, _, err := f.Read()
	if err != nil {
		return err
	}
	state.Written = record.Sum(b)
	return nil
}

// restore undoes add: the file as it was if nobody
// changed it since, else only gcrcred's entries taken out (or put back to
// what they replaced).
func restore(r *noderoot.Root, file string, state *fileState, n Notes) error {
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
	f, err := Open(r, noderoot.User{Name: home, UID: hi.UID, Home: home}, false)
	if err != nil || f == nil {
		return err
	}
	defer f.Close()
	cur, info, err := f.Read()
	if err != nil || info == nil {
		return err
	}
	if record.Sum(cur) != state.Written {
		return removeHelpers(f, file, state.Added, n)
	}
	if !state.Existed {
		if err := f.Remove(state.DirCreated); err != nil {
			return err
		}
		n.Change("docker    removed %s", file)
		return nil
	}
	if err := f.Write(state.Original, state.Mode, atomicfile.Owner{UID: state.UID, GID: state.GID}); err != nil {
		return err
	}
	n.Change("docker    restored %s", file)
	return nil
}

// removeHelpers takes out the credHelpers entries that point at
// gcrcred; with a record of what they replaced, only those, put back.
func removeHelpers(f *dockerconfig.File, file string, added map[string]string, n Notes) error {
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
		n.Change("docker    took gcrcred's credHelpers out of %s", file)
	}
	return err
}

// Setup points each user's Docker at gcrcred for hosts and records how
// their configs were.
func Setup(r *noderoot.Root, users []string, hosts []string, n Notes) error {
	if len(users) == 0 {
		return nil
	}
	st, _ := Load(r)
	var errs []error
	for _, name := range users {
		u, ok := r.LookupUser(name)
		if !ok {
			n.Say("no user %s on this node: no Docker config for it", name)
			continue
		}
		if err := add(r, st, u, hosts, n); err != nil {
			errs = append(errs, err)
		}
	}
	if len(st) > 0 {
		errs = append(errs, save(r, st))
	}
	return errors.Join(errs...)
}

// Undo gives every Docker config gcrcred changed back; without a
// record (a VM node's RAM root lost it), it takes gcrcred's entries out of
// the given users' configs by value.
func Undo(r *noderoot.Root, users []string, n Notes) error {
	st, ok := Load(r)
	var errs []error
	for _, file := range st.files() {
		errs = append(errs, restore(r, file, st[file], n))
	}
	if !ok {
		for _, name := range users {
			u, found := r.LookupUser(name)
			if !found {
				continue
			}
			file := ConfigFile(u)
			f, err := Open(r, u, false)
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
				errs = append(errs, removeHelpers(f, file, nil, n))
			}
			f.Close()
		}
	}
	errs = append(errs, r.RemoveFile(stateFile))
	return errors.Join(errs...)
}

// UndoNew restores the Docker configs first changed after before was
// loaded (by `node boot` during a restart that install rolls back).
func UndoNew(r *noderoot.Root, before States, n Notes) error {
	st, ok := Load(r)
	if !ok {
		return nil
	}
	var errs []error
	for _, file := range st.files() {
		if before[file] == nil {
			errs = append(errs, restore(r, file, st[file], n))
			delete(st, file)
		}
	}
	if len(st) == 0 {
		errs = append(errs, r.RemoveFile(stateFile))
	} else {
		errs = append(errs, save(r, st))
	}
	return errors.Join(errs...)
}

// Package dockerconfig edits the credHelpers of a Docker config.json, for
// `gcrcred configure-docker` and for node set-up alike. Everything else in
// the file stays as it was (keys we do not know, their order, `auths`,
// `credsStore`), and so do the file's mode and owner, also when root edits a
// user's file. A symlinked config.json (or config directory) is followed
// only when the link and its target belong to the owner of the directory
// it sits in (a dotfiles link), never towards someone else's file; after
// that check every access goes through the opened directory.
package dockerconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/gcrcred/gcrcred/internal/atomicfile"
	"github.com/gcrcred/gcrcred/internal/fileowner"
	"github.com/gcrcred/gcrcred/internal/orderedjson"
	"github.com/gcrcred/gcrcred/internal/smallfile"
)

// HelperName is the credHelpers value: Docker runs docker-credential-<name>.
const HelperName = "gcrcred"

// maxLinks bounds a chain of symlinks.
const maxLinks = 8

// A File is a config.json opened for editing, also by root in a user's
// home: its directory is checked once and held open, and every read, write
// and removal goes through that descriptor without following a link, so a
// directory or file swapped for a symbolic link after the check is never
// followed towards someone else's file.
type File struct {
	// Path is the file that is edited: the path given, or the end of a
	// dotfiles link.
	Path       string
	dir        *os.File // nil: the directory does not exist (and was not made)
	parent     *os.File // OpenIn: the home directory, to remove the config directory through
	name       string
	owner      int // who the directory belongs to; the file must too
	dirCreated bool
}

// Info is an existing config.json's mode and owner.
type Info struct {
	Mode     fs.FileMode
	UID, GID int
}

// Open checks the config.json at path and the directory holding it. A
// symbolic link (the directory or the file) is followed only when it and
// its target belong to the owner of the directory it sits in; anything else
// is refused. With create, a missing directory is made 0700 and given to
// the owner of its parent.
func Open(path string, create bool) (*File, error) {
	dir, owner, err := configDir(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	f := &File{Path: filepath.Join(dir, filepath.Base(path)), owner: owner}
	if owner < 0 {
		if !create {
			return f, nil // nothing to read, write or remove
		}
		if err := f.makeDir(dir); err != nil {
			return nil, err
		}
	} else if f.Path, err = resolve(f.Path, owner); err != nil {
		return nil, err
	} else if f.dir, err = openDir(filepath.Dir(f.Path), owner); err != nil {
		return nil, err
	}
	f.name = filepath.Base(f.Path)
	return f, nil
}

// configDir is the real directory of a config.json and its owner (-1 when
// it does not exist): dir itself, or the target of a link that the owner
// of dir's parent made towards a directory of theirs.
func configDir(dir string) (string, int, error) {
	li, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return dir, -1, nil
	}
	if err != nil {
		return "", 0, err
	}
	if li.Mode()&fs.ModeSymlink == 0 {
		uid, _, _ := fileowner.Of(li)
		return dir, uid, nil
	}
	parent, err := os.Stat(filepath.Dir(dir))
	if err != nil {
		return "", 0, err
	}
	want, _, _ := fileowner.Of(parent)
	target, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", 0, fmt.Errorf("%s is a symbolic link that leads nowhere (%v): create its target or remove it", dir, err)
	}
	ti, err := os.Stat(target)
	if err != nil {
		return "", 0, err
	}
	linkUID, _, _ := fileowner.Of(li)
	targetUID, _, _ := fileowner.Of(ti)
	if linkUID != want || targetUID != want || !ti.IsDir() {
		return "", 0, fmt.Errorf("%s is a symbolic link to %s, which is not a directory of uid %d (the owner of %s): refusing to write through it; replace the link with a directory", dir, target, want, filepath.Dir(dir))
	}
	return target, want, nil
}

// resolve returns the file that writing path would change: path itself, or
// the end of its symlinks when every link and the target belong to owner.
func resolve(path string, owner int) (string, error) {
	cur := path
	for i := 0; ; i++ {
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			if cur != path {
				return "", fmt.Errorf("%s is a symbolic link to %s, which does not exist: create the target or remove the link", path, cur)
			}
			return path, nil
		}
		if err != nil {
			return "", err
		}
		uid, _, _ := fileowner.Of(fi)
		if uid != owner {
			what := "its target " + cur
			if fi.Mode()&fs.ModeSymlink != 0 {
				what = "the link " + cur
			}
			return "", fmt.Errorf("%s leads to a file that is not its owner's (%s belongs to uid %d, %s to uid %d): refusing to write through it; replace the link with a file of uid %d", path, what, uid, filepath.Dir(path), owner, owner)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if !fi.Mode().IsRegular() {
				return "", fmt.Errorf("%s is not a regular file", cur)
			}
			return cur, nil
		}
		if i == maxLinks {
			return "", fmt.Errorf("%s: too many symbolic links", path)
		}
		target, err := os.Readlink(cur)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(cur), target)
		}
		cur = target
	}
}

// makeDir makes a missing config directory 0700 and gives it, through the
// opened descriptor, to the owner of its parent.
func (f *File) makeDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	pi, err := os.Stat(filepath.Dir(dir))
	if err != nil {
		return err
	}
	uid, gid, _ := fileowner.Of(pi)
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	f.owner, _, _ = fileowner.Of(fi)
	if f.dir, err = openDir(dir, f.owner); err != nil {
		return err
	}
	if f.owner != uid {
		if err := f.dir.Chown(uid, gid); err != nil {
			return err
		}
		f.owner = uid
	}
	f.dirCreated = true
	return nil
}

// DirCreated says whether Open made the directory.
func (f *File) DirCreated() bool { return f.dirCreated }

// Close releases the directory.
func (f *File) Close() error {
	if f.parent != nil {
		f.parent.Close()
	}
	if f.dir == nil {
		return nil
	}
	return f.dir.Close()
}

// maxConfigSize bounds what is read of a config.json.
const maxConfigSize = 16 << 20

// Write replaces the file atomically with data, mode and owner.
func (f *File) Write(data []byte, mode fs.FileMode, owner atomicfile.Owner) error {
	if f.dir == nil {
		return fmt.Errorf("%s: its directory does not exist", f.Path)
	}
	return atomicfile.WriteIn(f.dir, f.name, data, mode, &owner)
}

// CredHelpers reads the credHelpers of the config at path (none if the file
// does not exist).
func CredHelpers(path string) (map[string]string, error) {
	data, err := smallfile.Read(path, maxConfigSize, "Docker config")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return credHelpersOf(path, data)
}

// CredHelpers reads the credHelpers of an open File (none if it does not
// exist).
func (f *File) CredHelpers() (map[string]string, error) {
	data, _, err := f.Read()
	if err != nil {
		return nil, err
	}
	return credHelpersOf(f.Path, data)
}

// Route is what Docker does for a registry host under a config: the
// credential helper it runs (docker-credential-HELPER) and the key that
// chose it. Docker looks up credHelpers by the exact host, then falls back
// to credsStore, then to the auths in the file itself.
type Route struct {
	Helper string // "": no helper, Docker uses the file's auths
	By     string // "credHelpers", "credsStore" or ""
}

// RouteFor is the Route of host under the config at path (a missing file
// routes nothing).
func RouteFor(path, host string) (Route, error) {
	data, err := smallfile.Read(path, maxConfigSize, "Docker config")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Route{}, err
	}
	helpers, err := credHelpersOf(path, data)
	if err != nil {
		return Route{}, err
	}
	if h, ok := helpers[host]; ok {
		return Route{Helper: h, By: "credHelpers"}, nil
	}
	var store struct {
		CredsStore string `json:"credsStore"`
	}
	if len(data) > 0 {
		_ = json.Unmarshal(data, &store) // parse above has checked it is JSON
	}
	if store.CredsStore != "" {
		return Route{Helper: store.CredsStore, By: "credsStore"}, nil
	}
	return Route{}, nil
}

func credHelpersOf(path string, data []byte) (map[string]string, error) {
	_, helpers, err := parse(path, data)
	if err != nil {
		return nil, err
	}
	return helpers.asMap(), nil
}

// Edit applies edit to the credHelpers of the config at path (see Open)
// and writes the file back, atomically, only if edit reports a change. A
// file keeps its mode and owner; a new one is 0600 and belongs to the
// owner of its directory.
func Edit(path string, edit func(credHelpers map[string]string) (changed []string)) ([]string, error) {
	f, err := Open(path, true)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Edit(edit)
}

// Edit is the package's Edit on an open File.
func (f *File) Edit(edit func(credHelpers map[string]string) (changed []string)) ([]string, error) {
	data, info, err := f.Read()
	if err != nil {
		return nil, err
	}
	doc, helpers, err := parse(f.Path, data)
	if err != nil {
		return nil, err
	}
	m := helpers.asMap()
	changed := edit(m)
	if len(changed) == 0 {
		return nil, nil
	}
	helpers = helpers.update(m)
	if len(helpers) == 0 {
		doc.Delete("credHelpers")
	} else {
		raw, err := json.Marshal(helpers)
		if err != nil {
			return nil, err
		}
		doc.Set("credHelpers", raw)
	}
	out, err := json.MarshalIndent(doc, "", "\t")
	if err != nil {
		return nil, err
	}
	if info == nil {
		fi, err := f.dir.Stat()
		if err != nil {
			return nil, err
		}
		uid, gid, _ := fileowner.Of(fi)
		info = &Info{Mode: 0o600, UID: uid, GID: gid}
	}
	return changed, f.Write(append(out, '\n'), info.Mode, atomicfile.Owner{UID: info.UID, GID: info.GID})
}

// parse reads the document and its credHelpers; a missing or empty file is
// an empty document. A file that is not a JSON object is refused, never
// overwritten: it may hold the user's logins.
func parse(path string, data []byte) (orderedjson.Object, helperList, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return orderedjson.Object{}, nil, nil
	}
	doc, err := orderedjson.Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s is not a JSON object (%v): fix or move it and run again", path, err)
	}
	var helpers helperList
	if raw, ok := doc.Get("credHelpers"); ok && string(raw) != "null" {
		obj, err := orderedjson.Parse(raw)
		if err == nil {
			for _, m := range obj {
				var v string
				if err = json.Unmarshal(m.Value, &v); err != nil {
					break
				}
				helpers = append(helpers, entry{m.Key, v})
			}
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: credHelpers is not a map of strings: fix it and run again", path)
		}
	}
	return doc, helpers, nil
}

// helperList is credHelpers in file order.
type helperList []entry

type entry struct{ host, helper string }

func (l helperList) asMap() map[string]string {
	m := make(map[string]string, len(l))
	for _, e := range l {
		m[e.host] = e.helper
	}
	return m
}

// update brings l in line with m: existing hosts keep their place, removed
// ones go, new ones are appended in sorted order.
func (l helperList) update(m map[string]string) helperList {
	var out helperList
	seen := map[string]bool{}
	for _, e := range l {
		if v, ok := m[e.host]; ok {
			out = append(out, entry{e.host, v})
			seen[e.host] = true
		}
	}
	var added []string
	for h := range m {
		if !seen[h] {
			added = append(added, h)
		}
	}
	sort.Strings(added)
	for _, h := range added {
		out = append(out, entry{h, m[h]})
	}
	return out
}

// MarshalJSON writes the list as a JSON object in its order.
func (l helperList) MarshalJSON() ([]byte, error) {
	var obj orderedjson.Object
	for _, e := range l {
		v, err := json.Marshal(e.helper)
		if err != nil {
			return nil, err
		}
		obj = append(obj, orderedjson.Member{Key: e.host, Value: v})
	}
	return json.Marshal(obj)
}

// DefaultHosts are the hosts configure-docker and node set-up point at
// gcrcred. Docker asks every credHelpers entry during `docker build`, so the
// list is kept to the common hosts; more come with --registries.
// (Container Registry's hosts and Artifact Registry's multi-regions, as
// internal/registries lists them; a test holds the two together.)
var DefaultHosts = []string{
	"gcr.io", "us.gcr.io", "eu.gcr.io", "asia.gcr.io", "marketplace.gcr.io",
	"us-docker.pkg.dev", "europe-docker.pkg.dev", "asia-docker.pkg.dev",
}

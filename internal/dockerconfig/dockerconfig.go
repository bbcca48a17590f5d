// Package dockerconfig edits the credHelpers of a Docker config.json, for
// `gcrcred configure-docker` and for node set-up alike. Everything else in
// the file stays as it was (keys we do not know, their order, `auths`,
// `credsStore`), and so do the file's mode and owner, also when root edits a
// user's file. A symlinked config.json is followed only when the link and
// its target belong to the owner of the config directory (a dotfiles link),
// never towards someone else's file.
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
)

// HelperName is the credHelpers value: Docker runs docker-credential-<name>.
const HelperName = "gcrcred"

// Path is $DOCKER_CONFIG/config.json, else ~/.docker/config.json.
func Path() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "config.json")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".docker", "config.json")
}

// maxLinks bounds a chain of symlinks.
const maxLinks = 8

// Resolve returns the file that writing path would change: path itself, or
// the end of its symlinks when every link and the target belong to the
// owner of path's directory. Anything else is refused.
func Resolve(path string) (string, error) {
	dirInfo, err := os.Stat(filepath.Dir(path))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return path, nil
		}
		return "", err
	}
	owner, _, ok := fileowner.Of(dirInfo)
	if !ok {
		return path, nil
	}
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

// CredHelpers reads the credHelpers of the config at path (none if the file
// does not exist).
func CredHelpers(path string) (map[string]string, error) {
	_, helpers, err := load(path)
	if err != nil {
		return nil, err
	}
	return helpers.asMap(), nil
}

// Edit applies edit to the credHelpers of the config at path and writes the
// file back, atomically, only if edit reports a change. A new file is 0600
// and belongs to the owner of its directory; a new directory is 0700 and
// belongs to the owner of its parent.
func Edit(path string, edit func(credHelpers map[string]string) (changed []string)) ([]string, error) {
	target, err := Resolve(path)
	if err != nil {
		return nil, err
	}
	doc, helpers, err := load(target)
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
	mode, owner, err := fileMode(target)
	if err != nil {
		return nil, err
	}
	return changed, atomicfile.WriteFileOwned(target, append(out, '\n'), mode, owner)
}

// load reads the document and its credHelpers; a missing or empty file is an
// empty document. A file that is not a JSON object is refused, never
// overwritten: it may hold the user's logins.
func load(path string) (orderedjson.Object, helperList, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) || err == nil && len(bytes.TrimSpace(data)) == 0 {
		return orderedjson.Object{}, nil, nil
	}
	if err != nil {
		return nil, nil, err
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

// fileMode is the mode and owner the written file gets: what it has, or for
// a new file 0600 and the directory's owner (the directory is made first).
func fileMode(path string) (fs.FileMode, *atomicfile.Owner, error) {
	if fi, err := os.Stat(path); err == nil {
		uid, gid, ok := fileowner.Of(fi)
		if !ok {
			return fi.Mode().Perm(), nil, nil
		}
		return fi.Mode().Perm(), &atomicfile.Owner{UID: uid, GID: gid}, nil
	}
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return 0, nil, err
		}
		if pi, err := os.Stat(filepath.Dir(dir)); err == nil {
			if uid, gid, ok := fileowner.Of(pi); ok {
				if err := os.Chown(dir, uid, gid); err != nil {
					return 0, nil, err
				}
			}
		}
	}
	di, err := os.Stat(dir)
	if err != nil {
		return 0, nil, err
	}
	if uid, gid, ok := fileowner.Of(di); ok {
		return 0o600, &atomicfile.Owner{UID: uid, GID: gid}, nil
	}
	return 0o600, nil, nil
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
var DefaultHosts = []string{
	"gcr.io", "us.gcr.io", "eu.gcr.io", "asia.gcr.io", "marketplace.gcr.io",
	"us-docker.pkg.dev", "europe-docker.pkg.dev", "asia-docker.pkg.dev",
}

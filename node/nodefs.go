package node

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/gcrcred/gcrcred/internal/atomicfile"
	"github.com/gcrcred/gcrcred/internal/nodeexec"
	"github.com/gcrcred/gcrcred/internal/noderoot"
)

// Every node file is read and written through internal/noderoot: relative
// to the node root held open, no symbolic link followed, no FIFO waited
// for, every read bounded; a directory written into (and a file edited)
// must be root's and writable by no one else.

// Bounds on what is read of a node file.
const (
	maxTextFile = 4 << 20   // unit files, environment files, configs, passwd, the record
	maxBinary   = 512 << 20 // the plugin
)

// openRoot holds the node's root open for one command.
func openRoot(dir string) (*noderoot.Root, error) {
	r, err := noderoot.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("%v: --root must be the node's / (a directory)", err)
	}
	return r, nil
}

// commands runs the node's programs (its systemctl), chrooted into the root.
func commands(r *noderoot.Root) nodeexec.Root { return nodeexec.Root{Dir: r.Dir()} }

// readNodeFile reads a node text file.
func readNodeFile(r *noderoot.Root, p string) (string, error) {
	b, _, err := r.ReadFile(p, maxTextFile)
	return string(b), err
}

// readTrusted reads a file whose content decides what install does (a
// unit, a drop-in, an environment file, a k3s config): only root may be
// able to change it, or it is refused, named.
func readTrusted(r *noderoot.Root, p string) (string, error) {
	b, info, err := r.ReadFile(p, maxTextFile)
	if err != nil {
		return "", err
	}
	if err := noderoot.CheckTrusted(p, info); err != nil {
		return "", err
	}
	return string(b), nil
}

// fileState is a node file as it is: absent, or a regular file.
type fileState struct {
	exists   bool
	content  []byte
	mode     fs.FileMode
	uid, gid int
}

// readState reads a file gcrcred is about to write or restore; a link or
// anything but a regular file is refused: gcrcred replaces only plain
// files, and never writes through a link.
func readState(r *noderoot.Root, p string) (fileState, error) {
	info, err := r.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return fileState{}, nil
	}
	if err != nil {
		return fileState{}, err
	}
	if !info.IsRegular() {
		return fileState{}, fmt.Errorf("%s is not a regular file (%s): gcrcred replaces only plain files; move it away and rerun", p, info.Mode.Type())
	}
	limit := int64(maxTextFile)
	if info.Mode.Perm()&0o111 != 0 {
		limit = maxBinary
	}
	b, info, err := r.ReadFile(p, limit)
	if err != nil {
		return fileState{}, err
	}
	return fileState{exists: true, content: b, mode: info.Mode.Perm(), uid: info.UID, gid: info.GID}, nil
}

// parentOf opens the directory holding p, to write in it: it and every
// directory above it must be root's alone.
func parentOf(r *noderoot.Root, p string) (*noderoot.Dir, string, error) {
	d, err := r.OpenTrustedDir(path.Dir(p))
	if err != nil {
		return nil, "", err
	}
	return d, path.Base(p), nil
}

// put makes the node file p exactly st: written atomically with its mode
// and owner in its (root's) directory, or removed.
func put(r *noderoot.Root, p string, st fileState) error {
	d, name, err := parentOf(r, p)
	if errors.Is(err, fs.ErrNotExist) && !st.exists {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	if !st.exists {
		return d.Remove(name)
	}
	return d.WriteFile(name, st.content, st.mode, &atomicfile.Owner{UID: st.uid, GID: st.gid})
}

// writeStateFile replaces one of gcrcred's own state files (root's) with
// data unless it holds exactly that already.
func writeStateFile(r *noderoot.Root, p string, data []byte, mode fs.FileMode) error {
	if cur, info, err := r.ReadFile(p, maxTextFile); err == nil && bytes.Equal(cur, data) && info.Mode.Perm() == mode {
		return nil
	}
	return put(r, p, fileState{exists: true, content: data, mode: mode})
}

// removeNodeFile removes p if it is there.
func removeNodeFile(r *noderoot.Root, p string) error {
	return put(r, p, fileState{})
}

// makeDir makes the directory p (its parent must exist) for uid:gid with mode.
func makeDir(r *noderoot.Root, p string, mode fs.FileMode, uid, gid int) error {
	d, name, err := parentOf(r, p)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Mkdir(name, mode, uid, gid)
}

// removeCreatedDir removes a directory gcrcred made: with everything in it
// under gcrcred's state directory (token caches), else only if empty.
func removeCreatedDir(r *noderoot.Root, p string) error {
	d, name, err := parentOf(r, p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	if p == StateDir || strings.HasPrefix(p, StateDir+"/") {
		return d.RemoveAll(name)
	}
	return d.RemoveDir(name)
}

// dirEntries lists a node directory (none if it is missing).
func dirEntries(r *noderoot.Root, p string) ([]string, error) {
	d, err := r.OpenDir(p)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Names()
}

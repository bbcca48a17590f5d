package noderoot

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/gcrcred/gcrcred/internal/atomicfile"
	"github.com/gcrcred/gcrcred/internal/smallfile"
)

// What the installer does with a node file, whole: read it as it is (to
// record it, compare it, or give it back later) and make it exactly so,
// through its parent directory held open, which must be root's alone.

// Bounds on what is read of a node file.
const (
	MaxText   = 4 << 20   // unit files, environment files, configs, passwd, records
	MaxBinary = 512 << 20 // the plugin
)

// FileState is a node file as it is: absent, or a regular file.
type FileState struct {
	Exists   bool
	Content  []byte
	Mode     fs.FileMode
	UID, GID int
}

// Same reports whether two states are the same file, owner and mode.
func (a FileState) Same(b FileState) bool {
	return a.Exists == b.Exists && bytes.Equal(a.Content, b.Content) && a.Mode == b.Mode && a.UID == b.UID && a.GID == b.GID
}

// ReadState reads a file about to be written or restored; a link or
// anything but a regular file is refused: gcrcred replaces only plain
// files, and never writes through a link.
func (r *Root) ReadState(p string) (FileState, error) {
	info, err := r.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return FileState{}, nil
	}
	if err != nil {
		return FileState{}, err
	}
	if !info.IsRegular() {
		return FileState{}, fmt.Errorf("%s is %s, not a regular file: gcrcred replaces only plain files; move it away and rerun", p, smallfile.TypeName(info.Mode))
	}
	limit := int64(MaxText)
	if info.Mode.Perm()&0o111 != 0 {
		limit = MaxBinary
	}
	b, info, err := r.ReadFile(p, limit)
	if err != nil {
		return FileState{}, err
	}
	return FileState{Exists: true, Content: b, Mode: info.Mode.Perm(), UID: info.UID, GID: info.GID}, nil
}

// ReadText reads a node text file.
func (r *Root) ReadText(p string) (string, error) {
	b, _, err := r.ReadFile(p, MaxText)
	return string(b), err
}

// ReadTrusted reads a text file whose content decides what gcrcred does (a
// unit, a drop-in, an environment file, a config): only root may be able
// to change it, or it is refused, named.
func (r *Root) ReadTrusted(p string) (string, error) {
	b, info, err := r.ReadFile(p, MaxText)
	if err != nil {
		return "", err
	}
	if err := CheckTrusted(p, info); err != nil {
		return "", err
	}
	return string(b), nil
}

// ParentOf opens the directory holding p, to write in it: it and every
// directory above it must be root's alone.
func (r *Root) ParentOf(p string) (*Dir, string, error) {
	d, err := r.OpenTrustedDir(path.Dir(p))
	if err != nil {
		return nil, "", err
	}
	return d, path.Base(p), nil
}

// Put makes the node file p exactly st: written atomically with its mode
// and owner in its (root's) directory, or removed.
func (r *Root) Put(p string, st FileState) error {
	d, name, err := r.ParentOf(p)
	if errors.Is(err, fs.ErrNotExist) && !st.Exists {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	if !st.Exists {
		return d.Remove(name)
	}
	return d.WriteFile(name, st.Content, st.Mode, &atomicfile.Owner{UID: st.UID, GID: st.GID})
}

// PutIfChanged replaces one of root's files with data unless it holds
// exactly that already: a run that changes nothing writes nothing.
func (r *Root) PutIfChanged(p string, data []byte, mode fs.FileMode) error {
	if cur, info, err := r.ReadFile(p, MaxText); err == nil && bytes.Equal(cur, data) && info.Mode.Perm() == mode {
		return nil
	}
	return r.Put(p, FileState{Exists: true, Content: data, Mode: mode})
}

// RemoveFile removes p if it is there.
func (r *Root) RemoveFile(p string) error { return r.Put(p, FileState{}) }

// MakeDir makes the directory p (its parent must exist) for uid:gid with mode.
func (r *Root) MakeDir(p string, mode fs.FileMode, uid, gid int) error {
	d, name, err := r.ParentOf(p)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Mkdir(name, mode, uid, gid)
}

// Entries lists a node directory.
func (r *Root) Entries(p string) ([]string, error) {
	d, err := r.OpenDir(p)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Names()
}

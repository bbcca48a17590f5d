package noderoot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"

	"golang.org/x/sys/unix"

	"github.com/gcrcred/gcrcred/internal/atomicfile"
)

// Dir is a directory of the node, held open: every name in it is reached
// through its descriptor, without following a link, so a directory
// swapped for a link after it was opened is never followed.
type Dir struct {
	f    *os.File
	path string // the node path, for messages
	info Info   // as opened
}

func newDir(fd int, p string) (*Dir, error) {
	info, err := fstat(fd, p)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &Dir{f: os.NewFile(uintptr(fd), p), path: p, info: info}, nil
}

// Path is the directory's node path.
func (d *Dir) Path() string { return d.path }

// Info is the directory as it was opened.
func (d *Dir) Info() Info { return d.info }

// File is the open directory (for atomicfile.WriteIn and the like).
func (d *Dir) File() *os.File { return d.f }

// Close releases the directory.
func (d *Dir) Close() error { return d.f.Close() }

func (d *Dir) fd() int { return int(d.f.Fd()) }

func (d *Dir) child(name string) string { return path.Join(d.path, name) }

// checkName refuses what is not one plain name of this directory.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || path.Base(name) != name {
		return fmt.Errorf("%q is not a file name", name)
	}
	return nil
}

// Lstat is the named entry, not followed if it is a link.
func (d *Dir) Lstat(name string) (Info, error) {
	if err := checkName(name); err != nil {
		return Info{}, err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(d.fd(), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return Info{}, &fs.PathError{Op: "stat", Path: d.child(name), Err: err}
	}
	return infoOf(&st), nil
}

// Names lists the directory.
func (d *Dir) Names() ([]string, error) {
	fd, err := unix.Openat(d.fd(), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: d.path, Err: err}
	}
	f := os.NewFile(uintptr(fd), d.path)
	defer f.Close()
	return f.Readdirnames(-1)
}

// OpenFile opens the named regular file for reading (no link followed, no
// FIFO waited for).
func (d *Dir) OpenFile(name string) (*os.File, Info, error) {
	if err := checkName(name); err != nil {
		return nil, Info{}, err
	}
	fd, err := unix.Openat(d.fd(), name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, Info{}, d.nameError("open", name, err)
	}
	return regularFile(fd, d.child(name))
}

// ReadFile reads the named regular file, at most max bytes.
func (d *Dir) ReadFile(name string, max int64) ([]byte, Info, error) {
	f, info, err := d.OpenFile(name)
	if err != nil {
		return nil, Info{}, err
	}
	defer f.Close()
	b, err := readAll(f, d.child(name), max)
	return b, info, err
}

// OpenDir opens the named subdirectory (not a link to one).
func (d *Dir) OpenDir(name string) (*Dir, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	fd, err := unix.Openat(d.fd(), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, d.nameError("open", name, err)
	}
	return newDir(fd, d.child(name))
}

// nameError names the entry, and says so if it is a link.
func (d *Dir) nameError(op, name string, err error) error {
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		if info, serr := d.Lstat(name); serr == nil && info.Mode&fs.ModeSymlink != 0 {
			return &LinkError{Path: d.child(name)}
		}
	}
	return &fs.PathError{Op: op, Path: d.child(name), Err: err}
}

// Mkdir makes the named directory with mode for uid:gid; it is 0700 and
// root's until it is the caller's, changed through its own descriptor.
func (d *Dir) Mkdir(name string, mode fs.FileMode, uid, gid int) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := unix.Mkdirat(d.fd(), name, 0o700); err != nil {
		return &fs.PathError{Op: "mkdir", Path: d.child(name), Err: err}
	}
	sub, err := d.OpenDir(name)
	if err != nil {
		return err
	}
	defer sub.Close()
	if err := sub.f.Chown(uid, gid); err != nil {
		return err
	}
	if err := unix.Fchmod(sub.fd(), unixMode(mode)); err != nil {
		return &fs.PathError{Op: "chmod", Path: sub.path, Err: err}
	}
	return nil
}

// Remove removes the named file (or link); one that is not there is no error.
func (d *Dir) Remove(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := unix.Unlinkat(d.fd(), name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return &fs.PathError{Op: "remove", Path: d.child(name), Err: err}
	}
	return nil
}

// RemoveDir removes the named directory if it is empty; one that is not
// there is no error.
func (d *Dir) RemoveDir(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := unix.Unlinkat(d.fd(), name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return &fs.PathError{Op: "remove", Path: d.child(name), Err: err}
	}
	return nil
}

// RemoveAll removes the named entry and, for a directory, everything in it,
// every step through descriptors (a link inside is removed, not followed).
func (d *Dir) RemoveAll(name string) error {
	info, err := d.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return d.Remove(name)
	}
	sub, err := d.OpenDir(name)
	if err != nil {
		return err
	}
	names, err := sub.Names()
	for _, n := range names {
		if err == nil {
			err = sub.RemoveAll(n)
		}
	}
	sub.Close()
	if err != nil {
		return err
	}
	return d.RemoveDir(name)
}

// WriteFile replaces the named file atomically (see atomicfile.WriteIn).
func (d *Dir) WriteFile(name string, data []byte, mode fs.FileMode, owner *atomicfile.Owner) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := atomicfile.WriteIn(d.f, name, data, mode, owner); err != nil {
		return fmt.Errorf("writing %s: %w", d.child(name), err)
	}
	return nil
}

// SetOwnerMode gives the named regular file uid:gid and mode, through a
// descriptor of the file itself (never a link's target).
func (d *Dir) SetOwnerMode(name string, uid, gid int, mode fs.FileMode) error {
	f, _, err := d.OpenFile(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Chown(uid, gid); err != nil {
		return err
	}
	if err := unix.Fchmod(int(f.Fd()), unixMode(mode)); err != nil {
		return &fs.PathError{Op: "chmod", Path: d.child(name), Err: err}
	}
	return nil
}

// StatLinkTarget is the file the named magic link of /proc refers to
// (/proc/PID/exe): the kernel follows it to the file it holds, no path is
// read from it or resolved. Nowhere else is a link followed.
func (d *Dir) StatLinkTarget(name string) (Info, error) {
	if err := checkName(name); err != nil {
		return Info{}, err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(d.fd(), name, &st, 0); err != nil {
		return Info{}, &fs.PathError{Op: "stat", Path: d.child(name), Err: err}
	}
	return infoOf(&st), nil
}

// OpenLinkTarget opens for reading the regular file the named magic link of
// /proc refers to (/proc/PID/exe: the program a process runs, even when its
// path was a link or has been replaced since): the kernel follows it to
// the file it holds, no path is read from it or resolved. Like
// StatLinkTarget, it is for /proc only.
func (d *Dir) OpenLinkTarget(name string) (*os.File, Info, error) {
	if err := checkName(name); err != nil {
		return nil, Info{}, err
	}
	fd, err := unix.Openat(d.fd(), name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, Info{}, d.nameError("open", name, err)
	}
	return regularFile(fd, d.child(name))
}

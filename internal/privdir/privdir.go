//go:build !windows

// Package privdir is a directory that belongs to this user alone, and the
// files in it that this user wrote. gcrcred keeps tokens and keys there and
// runs as root on nodes, so it believes nothing another user could have put
// in its way: the directory must be a real directory (not a symlink) owned
// by the effective user and writable by no one else, and a file is read only
// if it is a regular file (opened without following a symlink) owned by the
// effective user with mode 0600. Every operation is relative to the
// directory opened and checked once, so it cannot be swapped underneath.
//
// The lock is flock(2) on a descriptor opened the same way; gofrs/flock
// opens its lock file by path, following symlinks, which is what this
// package exists to avoid.
package privdir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gcrcred/gcrcred/internal/atomicfile"
)

// FileMode is the mode of every file written here, and the only one believed.
const FileMode = 0o600

func refuse(format string, args ...any) error { return fmt.Errorf(format, args...) }

// Dir is an open, checked private directory.
type Dir struct {
	f    *os.File
	path string
}

// Open opens path if it passes the rules. With create, a missing directory
// is made 0700 (missing parents too); an existing one is never chmodded,
// whoever owns it: a shared 1777 directory stays 1777, and is refused.
func Open(path string, create bool) (*Dir, error) {
	if path == "" {
		return nil, errors.New("no directory given")
	}
	if create {
		if err := os.MkdirAll(path, 0o700); err != nil {
			return nil, err
		}
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			return nil, refuse("%s is a symbolic link or not a directory", path)
		}
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	switch euid := os.Geteuid(); {
	case int(st.Uid) != euid:
		err = refuse("%s belongs to uid %d, not to uid %d", path, st.Uid, euid)
	case st.Mode&0o022 != 0:
		err = refuse("%s is writable by group or others (mode %o)", path, st.Mode&0o7777)
	}
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &Dir{f: os.NewFile(uintptr(fd), path), path: path}, nil
}

// Path is the directory's path, for messages.
func (d *Dir) Path() string { return d.path }

// Close releases the directory.
func (d *Dir) Close() error { return d.f.Close() }

// openFile opens name without following a symlink and checks that it is a
// regular file of ours with mode 0600.
func (d *Dir) openFile(name string, flags int) (*os.File, error) {
	fd, err := unix.Openat(int(d.f.Fd()), name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, FileMode)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, refuse("%s/%s is a symbolic link", d.path, name)
		}
		return nil, &fs.PathError{Op: "open", Path: d.path + "/" + name, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, err
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		err = refuse("%s/%s is not a regular file", d.path, name)
	case int(st.Uid) != os.Geteuid():
		err = refuse("%s/%s belongs to uid %d, not to uid %d", d.path, name, st.Uid, os.Geteuid())
	case st.Mode&0o7777 != FileMode:
		err = refuse("%s/%s has mode %o, not %o", d.path, name, st.Mode&0o7777, FileMode)
	}
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), d.path+"/"+name), nil
}

// ReadFile returns name's content if the file passes the rules and holds at
// most max bytes.
func (d *Dir) ReadFile(name string, max int64) ([]byte, error) {
	f, err := d.openFile(name, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, refuse("%s/%s is larger than %d bytes", d.path, name, max)
	}
	return b, nil
}

// WriteFile replaces name atomically with a 0600 file holding data.
func (d *Dir) WriteFile(name string, data []byte) error {
	return atomicfile.WriteIn(d.f, name, data, FileMode, nil)
}

// Remove deletes name; a missing file is not an error.
func (d *Dir) Remove(name string) error {
	err := unix.Unlinkat(int(d.f.Fd()), name, 0)
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return &fs.PathError{Op: "remove", Path: d.path + "/" + name, Err: err}
	}
	return nil
}

// Names lists the directory's entries that are regular files.
func (d *Dir) Names() ([]string, error) {
	if _, err := d.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	entries, err := d.f.ReadDir(-1)
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return names, err
}

// Lock takes an exclusive lock on the file name (made 0600 if missing),
// waiting at most wait (0: one try). unlock is always safe to call.
//
// A lock file may be removed by its holder (Remove while locked: a failed
// mint leaves nothing behind, and expired entries are pruned). A process
// that was waiting on the removed file then holds a lock that guards
// nothing, so the lock counts only if name still is the file locked;
// otherwise Lock opens name again.
func (d *Dir) Lock(name string, wait time.Duration) (unlock func(), err error) {
	deadline := time.Now().Add(wait)
	for reopen := 0; ; reopen++ {
		f, err := d.openFile(name, unix.O_RDWR|unix.O_CREAT)
		if err != nil {
			return func() {}, err
		}
		if err := flockUntil(f, deadline); err != nil {
			f.Close()
			if errors.Is(err, errStillLocked) {
				err = fmt.Errorf("%s/%s is still locked after %s", d.path, name, wait)
			}
			return func() {}, err
		}
		if d.isFile(name, f) {
			return func() { unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
		}
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
		if reopen >= 3 && time.Now().After(deadline) {
			return func() {}, fmt.Errorf("%s/%s keeps being replaced while gcrcred locks it", d.path, name)
		}
	}
}

var errStillLocked = errors.New("still locked")

func flockUntil(f *os.File, deadline time.Time) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return err
		}
		if time.Now().After(deadline) {
			return errStillLocked
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// isFile reports whether name in d is the open file f (not removed or
// replaced since f was opened).
func (d *Dir) isFile(name string, f *os.File) bool {
	var byName, open unix.Stat_t
	if unix.Fstatat(int(d.f.Fd()), name, &byName, unix.AT_SYMLINK_NOFOLLOW) != nil || unix.Fstat(int(f.Fd()), &open) != nil {
		return false
	}
	return byName.Dev == open.Dev && byName.Ino == open.Ino
}

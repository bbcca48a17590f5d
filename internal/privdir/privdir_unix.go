//go:build !windows

package privdir

// The Unix primitives: the directory is opened with O_NOFOLLOW and checked
// by fstat, each file with openat(O_NOFOLLOW) relative to it. The lock is
// flock(2) on a descriptor opened the same way; gofrs/flock opens its lock
// file by path, following symlinks, which is what this package exists to
// avoid.

import (
	"errors"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

func openDir(path string) (*os.File, error) {
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
	return os.NewFile(uintptr(fd), path), nil
}

// openFile opens name (read-write, and made if missing, with create)
// without following a symlink and checks that it is a regular file of ours
// with mode 0600. O_NONBLOCK: a FIFO put there must not hang the open.
func (d *Dir) openFile(name string, create bool) (*os.File, error) {
	flags := unix.O_RDONLY
	if create {
		flags = unix.O_RDWR | unix.O_CREAT
	}
	fd, err := unix.Openat(int(d.f.Fd()), name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, FileMode)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, refuse("%s is a symbolic link", d.file(name))
		}
		return nil, &fs.PathError{Op: "open", Path: d.file(name), Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, err
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		err = refuse("%s is not a regular file", d.file(name))
	case int(st.Uid) != os.Geteuid():
		err = refuse("%s belongs to uid %d, not to uid %d", d.file(name), st.Uid, os.Geteuid())
	case st.Mode&0o7777 != FileMode:
		err = refuse("%s has mode %o, not %o", d.file(name), st.Mode&0o7777, FileMode)
	}
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), d.file(name)), nil
}

func (d *Dir) remove(name string) error {
	if err := unix.Unlinkat(int(d.f.Fd()), name, 0); err != nil {
		return &fs.PathError{Op: "remove", Path: d.file(name), Err: err}
	}
	return nil
}

// entries reads the opened directory itself, not whatever its path names now.
func (d *Dir) entries() ([]fs.DirEntry, error) {
	if _, err := d.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return d.f.ReadDir(-1)
}

// tryLock takes flock's exclusive lock without waiting; busy when another
// holder has it.
func tryLock(f *os.File) (busy bool, err error) {
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return true, nil
	}
	return false, err
}

func unlockFile(f *os.File) { unix.Flock(int(f.Fd()), unix.LOCK_UN) }

// isFile reports whether name in d is the open file f (not removed or
// replaced since f was opened).
func (d *Dir) isFile(name string, f *os.File) bool {
	var byName, open unix.Stat_t
	if unix.Fstatat(int(d.f.Fd()), name, &byName, unix.AT_SYMLINK_NOFOLLOW) != nil || unix.Fstat(int(f.Fd()), &open) != nil {
		return false
	}
	return byName.Dev == open.Dev && byName.Ino == open.Ino
}

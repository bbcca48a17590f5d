package privdir

// The Windows primitives: the directory and each file are opened without
// following a symbolic link or junction, and believed only if this user
// owns them and no one else may write to them (internal/winfile). Go has no
// directory-relative calls here, so files are named by path. The lock is
// LockFileEx.

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gcrcred/gcrcred/internal/winfile"
)

func openDir(path string) (*os.File, error) { return openPrivate(path, true, false) }

// openFile opens name (read-write, and made if missing, with create) as a
// regular file.
func (d *Dir) openFile(name string, create bool) (*os.File, error) {
	return openPrivate(filepath.Join(d.path, name), false, create)
}

// openPrivate opens path without following a link and checks that it is
// ours and that no one else may write to it.
func openPrivate(path string, dir, create bool) (*os.File, error) {
	f, err := winfile.Open(path, dir, create, create)
	if err != nil {
		return nil, err
	}
	if err := winfile.CheckPrivate(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (d *Dir) remove(name string) error { return os.Remove(filepath.Join(d.path, name)) }

func (d *Dir) entries() ([]fs.DirEntry, error) { return os.ReadDir(d.path) }

// tryLock takes LockFileEx's exclusive lock without waiting; busy when
// another holder has it.
func tryLock(f *os.File) (busy bool, err error) {
	err = winfile.TryLock(f)
	if errors.Is(err, winfile.ErrLocked) {
		return true, nil
	}
	return false, err
}

func unlockFile(f *os.File) { winfile.Unlock(f) }

// isFile reports whether name in d is still the open file f: a holder may
// have removed it meanwhile (winfile.Open shares delete), and a lock on a
// removed file excludes no one. os.SameFile compares volume and file IDs.
func (d *Dir) isFile(name string, f *os.File) bool {
	held, err := f.Stat()
	if err != nil {
		return false
	}
	now, err := os.Lstat(filepath.Join(d.path, name))
	return err == nil && os.SameFile(held, now)
}

//go:build !windows

package atomicfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// createIn makes tmp in dir, never following a link or opening an existing
// file; 0600 until WriteIn sets the final mode.
func createIn(dir *os.File, tmp string) (*os.File, error) {
	fd, err := unix.Openat(int(dir.Fd()), tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), tmp), nil
}

func removeIn(dir *os.File, tmp string) { _ = unix.Unlinkat(int(dir.Fd()), tmp, 0) }

func chown(f *os.File, owner *Owner) error {
	if owner == nil {
		return nil
	}
	return f.Chown(owner.UID, owner.GID)
}

func replaceIn(dir *os.File, tmp, name string) error {
	return unix.Renameat(int(dir.Fd()), tmp, int(dir.Fd()), name)
}

// syncRename makes the rename durable: it is once the directory is on disk.
func syncRename(dir *os.File) error { return dir.Sync() }

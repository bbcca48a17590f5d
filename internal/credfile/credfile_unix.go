//go:build !windows

package credfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gcrcred/gcrcred/internal/fileowner"
	"golang.org/x/sys/unix"
)

// readFile reads a credentials file without blocking on a FIFO. The
// system-wide file is what every kubelet and root on the node use, so it
// is read only if root put it there: opened without following a symbolic
// link, and checked on the opened file, not on its path.
func readFile(path string, system bool) ([]byte, error) {
	flags := unix.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC
	if system {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := unix.Open(path, flags, 0)
	if errors.Is(err, unix.ELOOP) && system {
		return nil, fmt.Errorf("%s is a symbolic link: gcrcred uses only a file root put there", path)
	}
	if err != nil {
		// A *PathError keeps the chain (fs.ErrNotExist, fs.ErrPermission) for callers.
		return nil, fmt.Errorf("reading credentials file: %w", &fs.PathError{Op: "open", Path: path, Err: err})
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	uid, _, ok := fileowner.Of(fi)
	switch {
	case fi.IsDir():
		return nil, fmt.Errorf("%s is a directory, not a credentials file", path)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s is not a regular file", path)
	case system && ok && uid != 0:
		return nil, fmt.Errorf("%s belongs to uid %d, not root: gcrcred uses only a file root put there", path, uid)
	case system && fi.Mode().Perm()&0o022 != 0:
		return nil, fmt.Errorf("%s is writable by group or others (mode %o): run `chmod 0640 %s`", path, fi.Mode().Perm(), path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading credentials file %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a credentials file", path, maxFileSize)
	}
	return data, nil
}

// userGcloudDir is where gcloud keeps its configuration without
// CLOUDSDK_CONFIG: ~/.config/gcloud ("" with no HOME).
func userGcloudDir() string {
	if h := os.Getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "gcloud")
	}
	return ""
}

//go:build !windows

package smallfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// Open opens path for reading without blocking, and checks on the opened
// file that it is a regular file; what names it in errors ("credentials
// file"). A missing or unreadable file keeps fs.ErrNotExist or
// fs.ErrPermission in the error's chain.
func Open(path, what string, o Options) (*os.File, fs.FileInfo, error) {
	flags := unix.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC
	if o.NoFollow {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := unix.Open(path, flags, 0)
	if errors.Is(err, unix.ELOOP) && o.NoFollow {
		return nil, nil, fmt.Errorf("%s %s is a symbolic link: gcrcred uses only the file itself", what, path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", what, &fs.PathError{Op: "open", Path: path, Err: err})
	}
	f := os.NewFile(uintptr(fd), path)
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("reading %s %s: %w", what, path, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s %s is %s, not a regular file: point gcrcred at the file itself", what, path, TypeName(fi.Mode()))
	}
	return f, fi, nil
}

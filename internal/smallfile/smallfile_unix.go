//go:build !windows

package smallfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// open opens with O_NONBLOCK, so that a FIFO fails in Open's check instead
// of waiting for a writer.
func open(path, what string, o Options) (*os.File, error) {
	flags := unix.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC
	if o.NoFollow {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := unix.Open(path, flags, 0)
	if errors.Is(err, unix.ELOOP) && o.NoFollow {
		return nil, fmt.Errorf("%s %s is a symbolic link: gcrcred uses only the file itself", what, path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, &fs.PathError{Op: "open", Path: path, Err: err})
	}
	return os.NewFile(uintptr(fd), path), nil
}

//go:build !windows

package dockerconfig

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gcrcred/gcrcred/internal/fileowner"
	"golang.org/x/sys/unix"
)

// openDir opens dir without following a last link and checks that it is
// still the directory of owner that was checked.
func openDir(dir string, owner int) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", dir, err)
	}
	d := os.NewFile(uintptr(fd), dir)
	fi, err := d.Stat()
	if err == nil {
		if uid, _, _ := fileowner.Of(fi); uid != owner {
			err = fmt.Errorf("%s changed while gcrcred was editing it (now uid %d, was %d): run again", dir, uid, owner)
		}
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Read returns the file's content and its mode and owner; a nil Info when
// it does not exist. Only a regular file of the directory's owner is read.
func (f *File) Read() ([]byte, *Info, error) {
	if f.dir == nil {
		return nil, nil, nil
	}
	fd, err := unix.Openat(int(f.dir.Fd()), f.name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("opening %s: %w", f.Path, err)
	}
	file := os.NewFile(uintptr(fd), f.Path)
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return nil, nil, err
	}
	uid, gid, _ := fileowner.Of(fi)
	if !fi.Mode().IsRegular() || uid != f.owner {
		return nil, nil, fmt.Errorf("%s changed while gcrcred was editing it (not a regular file of uid %d): run again", f.Path, f.owner)
	}
	data, err := io.ReadAll(io.LimitReader(file, maxConfigSize+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > maxConfigSize {
		return nil, nil, fmt.Errorf("%s is larger than %d bytes: not a Docker config gcrcred edits", f.Path, maxConfigSize)
	}
	return data, &Info{Mode: fi.Mode().Perm(), UID: uid, GID: gid}, nil
}

// Remove deletes the file (and, if Open made it or removeDir, the directory
// when empty).
func (f *File) Remove(removeDir bool) error {
	if f.dir == nil {
		return nil
	}
	if err := unix.Unlinkat(int(f.dir.Fd()), f.name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("removing %s: %w", f.Path, err)
	}
	if removeDir || f.dirCreated {
		_ = os.Remove(filepath.Dir(f.Path)) // only if empty
	}
	return nil
}

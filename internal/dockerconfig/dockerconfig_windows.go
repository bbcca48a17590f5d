package dockerconfig

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gcrcred/gcrcred/internal/winfile"
)

// On Windows there are no uids (fileowner says none, so owner is 0 for
// every file): the directory and the file are opened without following a
// symbolic link or junction, and the user's own profile (where Docker
// keeps %USERPROFILE%\.docker) is private by its access list.

// openDir opens dir without following a link.
func openDir(dir string, _ int) (*os.File, error) {
	d, err := winfile.Open(dir, true, false, false)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", dir, err)
	}
	return d, nil
}

// Read returns the file's content and its mode; a nil Info when it does
// not exist. Only a regular file (no link) is read.
func (f *File) Read() ([]byte, *Info, error) {
	if f.dir == nil {
		return nil, nil, nil
	}
	file, err := winfile.Open(filepath.Join(f.dir.Name(), f.name), false, false, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("opening %s: %w", f.Path, err)
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(file, maxConfigSize+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > maxConfigSize {
		return nil, nil, fmt.Errorf("%s is larger than %d bytes: not a Docker config gcrcred edits", f.Path, maxConfigSize)
	}
	return data, &Info{Mode: fi.Mode().Perm()}, nil
}

// Remove deletes the file (and, if Open made it or removeDir, the directory
// when empty).
func (f *File) Remove(removeDir bool) error {
	if f.dir == nil {
		return nil
	}
	if err := os.Remove(filepath.Join(f.dir.Name(), f.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", f.Path, err)
	}
	if removeDir || f.dirCreated {
		_ = os.Remove(filepath.Dir(f.Path)) // only if empty
	}
	return nil
}

package credfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// readFile reads a credentials file on Windows. There is no system-wide
// file there (the path is a Unix one, and any user may create C:\etc): it
// counts as absent, never read.
func readFile(path string, system bool) ([]byte, error) {
	if system {
		return nil, fmt.Errorf("no system-wide credentials file on Windows: %w", &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist})
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading credentials file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	switch {
	case fi.IsDir():
		return nil, fmt.Errorf("%s is a directory, not a credentials file", path)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s is not a regular file", path)
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

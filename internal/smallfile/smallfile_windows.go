package smallfile

import (
	"fmt"
	"io/fs"
	"os"
)

// Open opens path for reading and checks on the opened file that it is a
// regular file; what names it in errors. Windows has no FIFOs in the file
// system, and Options.NoFollow is for the system-wide files of a Linux
// node: here a link is refused after the fact, by what Lstat says.
func Open(path, what string, o Options) (*os.File, fs.FileInfo, error) {
	if o.NoFollow {
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, nil, fmt.Errorf("%s %s is a symbolic link: gcrcred uses only the file itself", what, path)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", what, err)
	}
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

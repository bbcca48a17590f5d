package smallfile

import (
	"fmt"
	"io/fs"
	"os"
)

// open: Windows has no FIFOs in the file system, and Options.NoFollow is
// for the system-wide files of a Linux node: here a link is refused after
// the fact, by what Lstat says.
func open(path, what string, o Options) (*os.File, error) {
	if o.NoFollow {
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, fmt.Errorf("%s %s is a symbolic link: gcrcred uses only the file itself", what, path)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	return f, nil
}

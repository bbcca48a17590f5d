//go:build !windows

package credfile

import (
	"fmt"

	"github.com/gcrcred/gcrcred/internal/fileowner"
	"github.com/gcrcred/gcrcred/internal/smallfile"
)

// readFile reads a credentials file without blocking on a FIFO. The
// system-wide file is what every kubelet and root on the node use, so it
// is read only if root put it there: opened without following a symbolic
// link, and checked on the opened file, not on its path.
func readFile(path string, system bool) ([]byte, error) {
	f, fi, err := smallfile.Open(path, "credentials file", smallfile.Options{NoFollow: system})
	if err != nil {
		return nil, err
	}
	defer f.Close()
	uid, _, ok := fileowner.Of(fi)
	switch {
	case system && ok && uid != 0:
		return nil, fmt.Errorf("%s belongs to uid %d, not root: gcrcred uses only a file root put there", path, uid)
	case system && fi.Mode().Perm()&0o022 != 0:
		return nil, fmt.Errorf("%s is writable by group or others (mode %o): run `chmod 0640 %s`", path, fi.Mode().Perm(), path)
	}
	return smallfile.ReadAll(f, maxFileSize, "credentials file")
}

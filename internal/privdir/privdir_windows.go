package privdir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gcrcred/gcrcred/internal/atomicfile"
	"github.com/gcrcred/gcrcred/internal/winfile"
)

// The Windows form of the rules (see privdir.go): the directory and each
// file are opened without following a symbolic link or junction, and
// believed only if this user owns them and no one else may write to them
// (internal/winfile). The lock is LockFileEx.

// FileMode is the mode files are written with; on Windows only the access
// list the directory passes on protects them.
const FileMode = 0o600

func refuse(format string, args ...any) error { return fmt.Errorf(format, args...) }

// Dir is an open, checked private directory.
type Dir struct {
	f    *os.File
	path string
}

// Open opens path if it passes the rules. With create, a missing directory
// is made (missing parents too) with the access list its parent passes on
// (under %LOCALAPPDATA% or %APPDATA%: this user, SYSTEM and Administrators).
func Open(path string, create bool) (*Dir, error) {
	if path == "" {
		return nil, errors.New("no directory given")
	}
	if create {
		if err := os.MkdirAll(path, 0o700); err != nil {
			return nil, err
		}
	}
	f, err := winfile.Open(path, true, false, false)
	if err != nil {
		return nil, err
	}
	if err := winfile.CheckPrivate(f); err != nil {
		f.Close()
		return nil, err
	}
	return &Dir{f: f, path: path}, nil
}

// Path is the directory's path, for messages.
func (d *Dir) Path() string { return d.path }

// Close releases the directory.
func (d *Dir) Close() error { return d.f.Close() }

// openFile opens name without following a link and checks that it is a
// regular file of ours that no one else may write.
func (d *Dir) openFile(name string, write, create bool) (*os.File, error) {
	f, err := winfile.Open(filepath.Join(d.path, name), false, write, create)
	if err != nil {
		return nil, err
	}
	if err := winfile.CheckPrivate(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ReadFile returns name's content if the file passes the rules and holds at
// most max bytes.
func (d *Dir) ReadFile(name string, max int64) ([]byte, error) {
	f, err := d.openFile(name, false, false)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, refuse("%s\\%s is larger than %d bytes", d.path, name, max)
	}
	return b, nil
}

// WriteFile replaces name atomically with a file holding data.
func (d *Dir) WriteFile(name string, data []byte) error {
	return atomicfile.WriteIn(d.f, name, data, FileMode, nil)
}

// Remove deletes name; a missing file is not an error.
func (d *Dir) Remove(name string) error {
	err := os.Remove(filepath.Join(d.path, name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Names lists the directory's entries that are regular files.
func (d *Dir) Names() ([]string, error) {
	entries, err := os.ReadDir(d.path)
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return names, err
}

// Lock takes an exclusive lock on the file name (made if missing), waiting
// at most wait. unlock is always safe to call.
func (d *Dir) Lock(name string, wait time.Duration) (unlock func(), err error) {
	f, err := d.openFile(name, true, true)
	if err != nil {
		return func() {}, err
	}
	deadline := time.Now().Add(wait)
	for {
		err := winfile.TryLock(f)
		if err == nil {
			return func() { winfile.Unlock(f); f.Close() }, nil
		}
		if !errors.Is(err, winfile.ErrLocked) {
			f.Close()
			return func() {}, err
		}
		if time.Now().After(deadline) {
			f.Close()
			return func() {}, fmt.Errorf("%s\\%s is still locked after %s", d.path, name, wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

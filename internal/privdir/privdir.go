// Package privdir is a directory that belongs to this user alone, and the
// files in it that this user wrote. gcrcred keeps tokens and keys there and
// runs as root on nodes, so it believes nothing another user could have put
// in its way: the directory must be a real directory (not a symlink) owned
// by the effective user and writable by no one else, and a file is read only
// if it is a regular file (opened without following a symlink) owned by the
// effective user with mode 0600. Every operation is relative to the
// directory opened and checked once, so it cannot be swapped underneath.
//
// This file is the same on every system; privdir_unix.go and
// privdir_windows.go open, check, list, remove and lock.
package privdir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/gcrcred/gcrcred/internal/atomicfile"
)

// FileMode is the mode of every file written here, and on Unix the only one
// believed; on Windows only the access list the directory passes on
// protects them.
const FileMode = 0o600

func refuse(format string, args ...any) error { return fmt.Errorf(format, args...) }

// Dir is an open, checked private directory.
type Dir struct {
	f    *os.File
	path string
}

// Open opens path if it passes the rules. With create, a missing directory
// is made 0700 (missing parents too); an existing one is never chmodded,
// whoever owns it: a shared 1777 directory stays 1777, and is refused. On
// Windows the new directory gets the access list its parent passes on
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
	f, err := openDir(path)
	if err != nil {
		return nil, err
	}
	return &Dir{f: f, path: path}, nil
}

// Path is the directory's path, for messages.
func (d *Dir) Path() string { return d.path }

// Close releases the directory.
func (d *Dir) Close() error { return d.f.Close() }

// file is name's path, for messages.
func (d *Dir) file(name string) string { return d.path + string(os.PathSeparator) + name }

// ReadFile returns name's content if the file passes the rules and holds at
// most max bytes.
func (d *Dir) ReadFile(name string, max int64) ([]byte, error) {
	f, err := d.openFile(name, false)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, refuse("%s is larger than %d bytes", d.file(name), max)
	}
	return b, nil
}

// WriteFile replaces name atomically with a FileMode file holding data.
func (d *Dir) WriteFile(name string, data []byte) error {
	return atomicfile.WriteIn(d.f, name, data, FileMode, nil)
}

// Remove deletes name; a missing file is not an error.
func (d *Dir) Remove(name string) error {
	if err := d.remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Names lists the directory's entries that are regular files.
func (d *Dir) Names() ([]string, error) {
	entries, err := d.entries()
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return names, err
}

// Lock takes an exclusive lock on the file name (made FileMode if missing),
// waiting at most wait (0: one try). unlock is always safe to call.
//
// A lock file may be removed by its holder (Remove while locked: a failed
// mint leaves nothing behind, and expired entries are pruned). A process
// that was waiting on the removed file then holds a lock that guards
// nothing, so the lock counts only if name still is the file locked;
// otherwise Lock opens name again.
func (d *Dir) Lock(name string, wait time.Duration) (unlock func(), err error) {
	deadline := time.Now().Add(wait)
	for reopen := 0; ; reopen++ {
		f, err := d.openFile(name, true)
		if err != nil {
			return func() {}, err
		}
		if err := lockUntil(f, deadline); err != nil {
			f.Close()
			if errors.Is(err, errStillLocked) {
				err = fmt.Errorf("%s is still locked after %s", d.file(name), wait)
			}
			return func() {}, err
		}
		if d.isFile(name, f) {
			return func() { unlockFile(f); f.Close() }, nil
		}
		unlockFile(f)
		f.Close()
		if reopen >= 3 && time.Now().After(deadline) {
			return func() {}, fmt.Errorf("%s keeps being replaced while gcrcred locks it", d.file(name))
		}
	}
}

var errStillLocked = errors.New("still locked")

func lockUntil(f *os.File, deadline time.Time) error {
	for {
		busy, err := tryLock(f)
		if err != nil || !busy {
			return err
		}
		if time.Now().After(deadline) {
			return errStillLocked
		}
		time.Sleep(10 * time.Millisecond)
	}
}

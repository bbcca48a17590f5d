// Package atomicfile replaces files so that a reader, another process or a
// crash never sees half a file: a temporary file in the same directory,
// written with its final mode and owner, flushed to disk, renamed over the
// target, and the directory flushed too (as github.com/google/renameio does).
//
// Written by hand rather than with renameio because two things matter here
// that it does not do: a temporary file that is never readable by others
// (created 0600, given its mode only when complete, umask ignored), and the
// owner set before the rename when root writes a user's file.
//
// This file is the same on every system; atomicfile_unix.go and
// atomicfile_windows.go create, rename and remove.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Owner is who a written file belongs to; nil leaves it to the writer.
// Windows has no uids: a new file gets the owner and access list its
// directory passes on, and Owner is ignored.
type Owner struct{ UID, GID int }

// WriteFile writes data to path atomically with mode perm. It is for this
// machine's own files (the minikube profile, file sync): path is resolved
// as usual. A node's files are written with WriteIn, in a directory
// internal/noderoot opened without following links.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return WriteIn(dir, filepath.Base(path), data, perm, nil)
}

// WriteIn writes data to name inside the open directory dir. On Unix every
// step is relative to dir, so a directory checked once (see
// internal/privdir) cannot be swapped for another between the check and
// the write.
func WriteIn(dir *os.File, name string, data []byte, perm fs.FileMode, owner *Owner) (err error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := "." + name + ".tmp-" + hex.EncodeToString(rnd[:])
	f, err := createIn(dir, tmp)
	if err != nil {
		return fmt.Errorf("creating a temporary file for %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			removeIn(dir, tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = chown(f, owner); err != nil {
		return err
	}
	// Chmod after Chown: chown clears the set-id bits, and the mode is
	// exact (no umask).
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = replaceIn(dir, tmp, name); err != nil {
		return fmt.Errorf("replacing %s: %w", name, err)
	}
	return syncRename(dir)
}

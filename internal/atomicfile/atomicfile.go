//go:build !windows

// Package atomicfile replaces files so that a reader, another process or a
// crash never sees half a file: a temporary file in the same directory,
// written with its final mode and owner, flushed to disk, renamed over the
// target, and the directory flushed too (as github.com/google/renameio does).
//
// Written by hand rather than with renameio because two things matter here
// that it does not do: a temporary file that is never readable by others
// (created 0600, given its mode only when complete, umask ignored), and the
// owner set before the rename when root writes a user's file.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Owner is who a written file belongs to; nil leaves it to the writer.
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

// WriteIn writes data to name inside the open directory dir. Every step is
// relative to dir, so a directory checked once (see internal/privdir) cannot
// be swapped for another between the check and the write.
func WriteIn(dir *os.File, name string, data []byte, perm fs.FileMode, owner *Owner) (err error) {
	dfd := int(dir.Fd())
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := "." + name + ".tmp-" + hex.EncodeToString(rnd[:])
	fd, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("creating a temporary file for %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	defer func() {
		if err != nil {
			f.Close()
			unlinkat(dfd, tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if owner != nil {
		if err = f.Chown(owner.UID, owner.GID); err != nil {
			return err
		}
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
	if err = unix.Renameat(dfd, tmp, dfd, name); err != nil {
		return fmt.Errorf("replacing %s: %w", name, err)
	}
	// The rename is durable once the directory is on disk.
	return dir.Sync()
}

func unlinkat(dfd int, name string) { _ = unix.Unlinkat(dfd, name, 0) }

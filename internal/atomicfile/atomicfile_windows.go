package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gcrcred/gcrcred/internal/winfile"
)

// Owner is who a written file belongs to. Windows has no uids: a new file
// gets the owner and access list its directory passes on, and Owner is
// ignored.
type Owner struct{ UID, GID int }

// WriteFile writes data to path atomically with mode perm.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return WriteFileOwned(path, data, perm, nil)
}

// WriteFileOwned is WriteFile; owner is ignored on Windows.
func WriteFileOwned(path string, data []byte, perm fs.FileMode, owner *Owner) error {
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return WriteIn(dir, filepath.Base(path), data, perm, owner)
}

// WriteIn writes data to name inside the directory dir: a new temporary
// file there (never an existing one), flushed, then moved over name with
// MOVEFILE_REPLACE_EXISTING|MOVEFILE_WRITE_THROUGH, which replaces it in
// one step and returns once that is on disk. Go's Windows API has no
// directory-relative calls, so dir's path is used; the directories
// gcrcred writes in (%LOCALAPPDATA%, %APPDATA%, the user's .docker) are the
// user's own by their access lists. Only the read-only bit of perm exists
// on Windows.
func WriteIn(dir *os.File, name string, data []byte, perm fs.FileMode, _ *Owner) (err error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	target := filepath.Join(dir.Name(), name)
	tmp := filepath.Join(dir.Name(), "."+name+".tmp-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("creating a temporary file for %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if perm&0o200 == 0 {
		if err = os.Chmod(tmp, perm); err != nil {
			return err
		}
	}
	if err = winfile.Replace(tmp, target); err != nil {
		return fmt.Errorf("replacing %s: %w", name, err)
	}
	return nil
}

package atomicfile

// Go's Windows API has no directory-relative calls, so dir's path is used;
// the directories gcrcred writes in (%LOCALAPPDATA%, %APPDATA%, the user's
// .docker) are the user's own by their access lists. Only the read-only bit
// of a mode exists on Windows (File.Chmod sets it on the handle).

import (
	"os"
	"path/filepath"

	"github.com/gcrcred/gcrcred/internal/winfile"
)

// createIn makes tmp in dir, never opening an existing file.
func createIn(dir *os.File, tmp string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir.Name(), tmp), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}

func removeIn(dir *os.File, tmp string) { os.Remove(filepath.Join(dir.Name(), tmp)) }

// chown: a new file already has the owner its directory passes on.
func chown(*os.File, *Owner) error { return nil }

// replaceIn moves tmp over name with MOVEFILE_REPLACE_EXISTING|
// MOVEFILE_WRITE_THROUGH: one step, returning once it is on disk.
func replaceIn(dir *os.File, tmp, name string) error {
	return winfile.Replace(filepath.Join(dir.Name(), tmp), filepath.Join(dir.Name(), name))
}

// syncRename has nothing to do: replaceIn wrote through.
func syncRename(*os.File) error { return nil }

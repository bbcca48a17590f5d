package minikube

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gcrcred/gcrcred/internal/atomicfile"
)

// minikube copies $MINIKUBE_HOME/.minikube/files/PATH to /PATH on every node
// of every profile at create and at each start, keeping the host file's
// mode: that is how our files outlive a VM reboot and reach added nodes.

func syncPath(nodePath string) string {
	return filepath.Join(fileSyncDir(), filepath.FromSlash(strings.TrimPrefix(nodePath, "/")))
}

// syncFiles writes the files into file sync and reports whether any changed.
func syncFiles(files []nodeFile) (bool, error) {
	changed := false
	for _, f := range files {
		want, err := f.contentBytes()
		if err != nil {
			return false, err
		}
		dst := syncPath(f.path)
		have, err := os.ReadFile(dst)
		if err == nil && bytes.Equal(have, want) {
			if fi, err := os.Stat(dst); err == nil && fi.Mode().Perm() == f.mode {
				continue
			}
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return false, err
		}
		if err := atomicfile.WriteFile(dst, want, f.mode); err != nil {
			return false, err
		}
		changed = true
	}
	return changed, nil
}

// unsyncFiles removes the files from file sync, then the directories that
// held only them, up to (not including) the files directory itself.
func unsyncFiles(files []nodeFile) (bool, error) {
	changed := false
	for _, f := range files {
		dst := syncPath(f.path)
		err := os.Remove(dst)
		switch {
		case err == nil:
			changed = true
		case !errors.Is(err, fs.ErrNotExist):
			return changed, err
		}
		for d := filepath.Dir(dst); d != fileSyncDir() && strings.HasPrefix(d, fileSyncDir()); d = filepath.Dir(d) {
			if os.Remove(d) != nil { // not empty (or gone): stop climbing
				break
			}
		}
	}
	return changed, nil
}

// syncedFiles reports which of the files file sync holds, with what content.
func syncedFiles(files []nodeFile) map[string][]byte {
	have := map[string][]byte{}
	for _, f := range files {
		if b, err := os.ReadFile(syncPath(f.path)); err == nil {
			if fi, err := os.Stat(syncPath(f.path)); err == nil && fi.Mode().Perm() == f.mode {
				have[f.path] = b
			}
		}
	}
	return have
}

package minikubecli

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gcrcred/gcrcred/internal/atomicfile"
	"github.com/gcrcred/gcrcred/internal/hostinstall"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
)

// minikube copies $MINIKUBE_HOME/.minikube/files/PATH to /PATH on every node
// of every profile at create and at each start, keeping the host file's
// mode: that is how gcrcred's files outlive a VM reboot and reach added
// nodes. They are hostinstall.HostOptions.Files, byte for byte what `node
// install` writes.

// syncFiles writes the files into file sync and reports whether any changed;
// the workload identity configuration goes when files lack it (per-pod
// identity off), the credentials stay (a node keeps its key).
func syncFiles(h Home, files []hostinstall.NodeFile) (bool, error) {
	changed := false
	if !slices.ContainsFunc(files, func(f hostinstall.NodeFile) bool { return f.Path == nodelayout.WorkloadIdentity }) {
		gone, err := unsyncFiles(h, []hostinstall.NodeFile{{Path: nodelayout.WorkloadIdentity}})
		if err != nil {
			return false, err
		}
		changed = gone
	}
	for _, f := range files {
		want, err := f.Read()
		if err != nil {
			return false, err
		}
		dst := h.SyncPath(f.Path)
		have, err := os.ReadFile(dst)
		if err == nil && bytes.Equal(have, want) {
			if fi, err := os.Stat(dst); err == nil && fi.Mode().Perm() == f.Mode {
				continue
			}
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return false, err
		}
		if err := atomicfile.WriteFile(dst, want, f.Mode); err != nil {
			return false, err
		}
		changed = true
	}
	return changed, nil
}

// unsyncFiles removes the files from file sync, then the directories that
// held only them, up to (not including) the files directory itself.
func unsyncFiles(h Home, files []hostinstall.NodeFile) (bool, error) {
	changed := false
	top := h.FileSyncDir()
	for _, f := range files {
		dst := h.SyncPath(f.Path)
		err := os.Remove(dst)
		switch {
		case err == nil:
			changed = true
		case !errors.Is(err, fs.ErrNotExist):
			return changed, err
		}
		for d := filepath.Dir(dst); d != top && strings.HasPrefix(d, top); d = filepath.Dir(d) {
			if os.Remove(d) != nil { // not empty (or gone): stop climbing
				break
			}
		}
	}
	return changed, nil
}

// syncedFiles reports which of the files file sync holds, with what content.
func syncedFiles(h Home, files []hostinstall.NodeFile) map[string][]byte {
	have := map[string][]byte{}
	for _, f := range files {
		p := h.SyncPath(f.Path)
		if b, err := os.ReadFile(p); err == nil {
			if fi, err := os.Stat(p); err == nil && fi.Mode().Perm() == f.Mode {
				have[f.Path] = b
			}
		}
	}
	return have
}

// ourFiles are the file sync paths and modes, the optional ones too
// (content is not needed to find or remove them).
func ourFiles() []hostinstall.NodeFile { return hostinstall.HostPaths(nodelayout.FlavourMinikube) }

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

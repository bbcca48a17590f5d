package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"

	"github.com/gcrcred/gcrcred/internal/atomicfile"
	"github.com/gcrcred/gcrcred/internal/fileowner"
	"github.com/gcrcred/gcrcred/internal/nodeexec"
)

// record is what install changed on a node and how it was before, kept in
// RecordFile (0600: it may hold a file's earlier content). Uninstall undoes
// exactly that. It is written before each change, so an install that stops
// half-way is still undone.
type record struct {
	Version int    `json:"version"`
	Flavour string `json:"flavour"`
	Service string `json:"service"`
	// Dirs are the directories install created, parents first.
	Dirs []string `json:"dirs,omitempty"`
	// Files are the files install wrote, in order, each with its state
	// before the first install that wrote it.
	Files []*fileRecord `json:"files,omitempty"`
	// DockerUsers had their Docker pointed at gcrcred.
	DockerUsers []string `json:"dockerUsers,omitempty"`
}

const recordVersion = 1

type fileRecord struct {
	Path    string      `json:"path"`
	Role    string      `json:"role"`
	Unit    bool        `json:"unit,omitempty"`    // a systemd unit file
	FlagVar string      `json:"flagVar,omitempty"` // role flags: the variable holding them ("" = ExecStart)
	Existed bool        `json:"existed"`
	Content []byte      `json:"content,omitempty"` // before
	Mode    fs.FileMode `json:"mode,omitempty"`    // before
	UID     int         `json:"uid"`               // before
	GID     int         `json:"gid"`               // before
	Written string      `json:"written,omitempty"` // sha256 of what gcrcred last wrote
}

func (rec *record) file(p string) *fileRecord {
	for _, f := range rec.Files {
		if f.Path == p {
			return f
		}
	}
	return nil
}

func (rec *record) hasDir(p string) bool { return slices.Contains(rec.Dirs, p) }

// loadRecord reads the record; nil without one. A record that cannot be
// read is an error: guessing would undo the wrong things.
func loadRecord(r nodeexec.Root) (*record, []byte, error) {
	hp, err := r.Path(RecordFile)
	if err != nil {
		return nil, nil, err
	}
	b, err := os.ReadFile(hp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil || rec.Version != recordVersion {
		return nil, nil, fmt.Errorf("%s is not an install record this gcrcred reads (%v): move it away and rerun; the files it lists stay as they are", RecordFile, err)
	}
	return &rec, b, nil
}

// saveRecord writes the record where its bytes differ from the file's: a
// run that changes nothing writes nothing, the record included.
func saveRecord(r nodeexec.Root, rec *record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return writeStateFile(r, RecordFile, b)
}

// writeStateFile replaces one of gcrcred's own state files (0600, root's)
// with data unless it holds exactly that already.
func writeStateFile(r nodeexec.Root, p string, data []byte) error {
	hp, err := r.Path(p)
	if err != nil {
		return err
	}
	if cur, err := os.ReadFile(hp); err == nil && bytes.Equal(cur, data) {
		return nil
	}
	return atomicfile.WriteFile(hp, data, 0o600)
}

// fileState is a node file as it is: absent, or a regular file.
type fileState struct {
	exists   bool
	content  []byte
	mode     fs.FileMode
	uid, gid int
}

// readState reads a file gcrcred is about to write or restore; a symbolic
// link or anything but a regular file is refused: gcrcred replaces only
// plain files, and never writes through a link.
func readState(r nodeexec.Root, p string) (fileState, string, error) {
	hp, err := r.Path(p)
	if err != nil {
		return fileState{}, "", err
	}
	fi, err := os.Lstat(hp)
	if errors.Is(err, fs.ErrNotExist) {
		return fileState{}, hp, nil
	}
	if err != nil {
		return fileState{}, hp, err
	}
	if !fi.Mode().IsRegular() {
		return fileState{}, hp, fmt.Errorf("%s is not a regular file (%s): gcrcred replaces only plain files; move it away and rerun", p, fi.Mode().Type())
	}
	b, err := os.ReadFile(hp)
	if err != nil {
		return fileState{}, hp, err
	}
	uid, gid, _ := fileowner.Of(fi)
	return fileState{exists: true, content: b, mode: fi.Mode().Perm(), uid: uid, gid: gid}, hp, nil
}

// put makes the file hp exactly st: written atomically with its mode and
// owner, or removed.
func put(hp string, st fileState) error {
	if !st.exists {
		err := os.Remove(hp)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return atomicfile.WriteFileOwned(hp, st.content, st.mode, &atomicfile.Owner{UID: st.uid, GID: st.gid})
}

func (f *fileRecord) before() fileState {
	return fileState{exists: f.Existed, content: f.Content, mode: f.Mode, uid: f.UID, gid: f.GID}
}

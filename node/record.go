package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/gcrcred/gcrcred/internal/noderoot"
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
// read, or that someone besides root could have written, is an error:
// guessing would undo the wrong things.
func loadRecord(r *noderoot.Root) (*record, []byte, error) {
	b, info, err := r.ReadFile(RecordFile, maxTextFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err == nil {
		err = noderoot.CheckTrusted(RecordFile, info)
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
func saveRecord(r *noderoot.Root, rec *record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return writeStateFile(r, RecordFile, b, 0o600)
}

func (f *fileRecord) before() fileState {
	return fileState{exists: f.Existed, content: f.Content, mode: f.Mode, uid: f.UID, gid: f.GID}
}

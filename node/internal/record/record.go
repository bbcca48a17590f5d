// Package record is what `gcrcred node install` keeps on a node: the
// install record (RecordFile: every file it changed and how it was before,
// so uninstall undoes exactly that) and the installed file (InstalledFile:
// the plugin's path, sha256 and version and the set-up found, which status
// checks without running anything). Only files root alone could have
// written are believed.
package record

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/internal/noderoot"
)

// Record is what install changed on a node and how it was before, kept in
// nodelayout.RecordFile (0600: it may hold a file's earlier content; one
// too large for it, or not text, is in a backup file it names: see
// KeepBefore). It is written before each change, so an install that stops
// half-way is still undone.
type Record struct {
	Version int    `json:"version"`
	Flavour string `json:"flavour"`
	Service string `json:"service"`
	// Dirs are the directories install created, parents first.
	Dirs []string `json:"dirs,omitempty"`
	// Files are the files install wrote, in order, each with its state
	// before the first install that wrote it.
	Files []*File `json:"files,omitempty"`
	// DockerUsers had their Docker pointed at gcrcred.
	DockerUsers []string `json:"dockerUsers,omitempty"`
}

// Version is the record's format.
const Version = 1

// Roles of the files in the record; uninstall undoes Flags, Config and
// Boot first (and restarts the kubelet), then the rest.
const (
	RoleFile   = "file"
	RoleFlags  = "flags"
	RoleConfig = "config"
	RoleBoot   = "boot"
)

// File is one file install wrote.
type File struct {
	Path    string `json:"path"`
	Role    string `json:"role"`
	Unit    bool   `json:"unit,omitempty"`    // a systemd unit file
	FlagVar string `json:"flagVar,omitempty"` // role flags: the variable holding them ("" = ExecStart)
	Existed bool   `json:"existed"`
	Content []byte `json:"content,omitempty"` // before, when small text
	// Backup is the node path of the backup holding the content before,
	// when it is not in Content, and BackupSum its sha256.
	Backup    string      `json:"backup,omitempty"`
	BackupSum string      `json:"backupSHA256,omitempty"`
	Mode      fs.FileMode `json:"mode,omitempty"`    // before
	UID       int         `json:"uid"`               // before
	GID       int         `json:"gid"`               // before
	Written   string      `json:"written,omitempty"` // sha256 of what gcrcred last wrote
}

// File is the record of p, nil if it has none.
func (rec *Record) File(p string) *File {
	for _, f := range rec.Files {
		if f.Path == p {
			return f
		}
	}
	return nil
}

// HasDir reports whether install created p.
func (rec *Record) HasDir(p string) bool { return slices.Contains(rec.Dirs, p) }

// Load reads the record, and its bytes; nil without one. A record that
// cannot be read, or that someone besides root could have written, is an
// error: guessing would undo the wrong things.
func Load(r *noderoot.Root) (*Record, []byte, error) {
	b, info, err := r.ReadFile(nodelayout.RecordFile, noderoot.MaxText)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err == nil {
		err = noderoot.CheckTrusted(nodelayout.RecordFile, info)
	}
	if err != nil {
		return nil, nil, err
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil || rec.Version != Version {
		return nil, nil, fmt.Errorf("%s is not an install record this gcrcred reads (%v): move it away and rerun; the files it lists stay as they are", nodelayout.RecordFile, err)
	}
	return &rec, b, nil
}

// Save writes the record where its bytes differ from the file's: a run
// that changes nothing writes nothing, the record included.
func Save(r *noderoot.Root, rec *Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return r.PutIfChanged(nodelayout.RecordFile, b, 0o600)
}

// Sum is the sha256 of b, in hex: how the records name content.
func Sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

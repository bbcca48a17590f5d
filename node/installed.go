package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/internal/version"
)

// InstalledFile says which plugin install put on the node: its path,
// sha256 and version, which status checks the plugin against without
// running it. Unlike the record (0600: it holds files' earlier contents)
// it holds no secret, and is 0644 so that an unprivileged status (the
// DaemonSet's readiness probe) reads it.
const (
	InstalledFile     = StateDir + "/installed.json"
	installedFileMode = 0o644
)

type installed struct {
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
	Version string `json:"version"`
}

// saveInstalled records the plugin install put at p; v is its version
// when known, else it is read from the binary's build information.
func saveInstalled(r *noderoot.Root, p string, binary []byte, v string) error {
	if v == "" {
		var err error
		if v, err = version.OfReaderAt(bytes.NewReader(binary), p); err != nil {
			v = "unknown (" + err.Error() + ")"
		}
	}
	b, err := json.Marshal(installed{Path: p, SHA256: sum(binary), Version: v})
	if err != nil {
		return err
	}
	return writeStateFile(r, InstalledFile, b, installedFileMode)
}

// loadInstalled reads what install recorded of the plugin; nil without a
// record (never installed, or a VM node's RAM root lost it). Only a file
// root alone could have written is believed.
func loadInstalled(r *noderoot.Root) (*installed, error) {
	b, info, err := r.ReadFile(InstalledFile, maxTextFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err == nil {
		err = noderoot.CheckTrusted(InstalledFile, info)
	}
	if err != nil {
		return nil, err
	}
	var in installed
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("%s is not JSON (%v): `gcrcred node install` writes it again", InstalledFile, err)
	}
	return &in, nil
}

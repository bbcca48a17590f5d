package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/gcrcred/gcrcred/internal/kubeletunit"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/internal/version"
	"github.com/gcrcred/gcrcred/node/internal/flavour"
	"github.com/gcrcred/gcrcred/node/internal/kubelet"
)

// Installed says which plugin install put on the node: its path, sha256
// and version, which status checks the plugin against without running it.
// Unlike the record it holds no secret, and is 0644 so that an
// unprivileged status (the DaemonSet's readiness probe) reads it.
type Installed struct {
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
	Version string `json:"version"`
	// Setup is the kubelet set-up install found. A status that is not root
	// cannot read every file detection reads (the packages install
	// kubelet.service 0600, and /var/lib/kubelet is 0700): it checks the
	// node against this instead.
	Setup *Setup `json:"setup,omitempty"`
}

// Setup is what status needs of a flavour.Setup, none of it secret.
type Setup struct {
	Flavour    string            `json:"flavour"`
	Evidence   string            `json:"evidence"`
	Service    string            `json:"service"`
	Slice      string            `json:"slice,omitempty"`
	ExecBinary string            `json:"execBinary"`
	Comm       string            `json:"kubeletComm,omitempty"`
	Embedded   bool              `json:"embedded,omitempty"`
	ExeDataDir string            `json:"exeDataDir,omitempty"`
	BinDir     string            `json:"binDir"`
	Config     string            `json:"config"`
	ConfigDir  string            `json:"configDir,omitempty"`
	FlagsFile  string            `json:"flagsFile,omitempty"`
	FlagsVar   string            `json:"flagsVar,omitempty"`
	FileFlags  []nodelayout.Flag `json:"fileFlags,omitempty"`
	Running    []nodelayout.Flag `json:"runningFlags,omitempty"`
	Users      []string          `json:"dockerUsers,omitempty"`
}

func recordSetup(s *flavour.Setup) *Setup {
	v := s.Service
	rs := &Setup{Flavour: s.Flavour, Evidence: s.Evidence, Service: v.Name, Slice: v.Slice, ExecBinary: v.ExecBinary,
		Comm: v.Comm, Embedded: v.Embedded, ExeDataDir: v.ExeDataDir, BinDir: s.BinDir, Config: s.Config,
		ConfigDir: s.ConfigDir, FileFlags: s.FileFlags, Running: s.RunningFlags, Users: s.DockerUsers}
	if s.Flags != nil {
		rs.FlagsFile, rs.FlagsVar = s.Flags.Path, s.Flags.Var
		// Detected before install added its own flags to the flags file:
		// recorded as the files give them after it, so that a rerun that
		// changes nothing records the same bytes.
		rs.FileFlags = nodelayout.KubeletFlags()
	}
	return rs
}

// FlavourSetup is the recorded set-up, as detection would have found it
// from the files (the unit itself not loaded).
func (rs *Setup) FlavourSetup() *flavour.Setup {
	s := &flavour.Setup{Flavour: rs.Flavour, Evidence: rs.Evidence,
		Service: kubelet.Service{Name: rs.Service, Slice: rs.Slice, ExecBinary: rs.ExecBinary,
			Comm: rs.Comm, Embedded: rs.Embedded, ExeDataDir: rs.ExeDataDir},
		BinDir: rs.BinDir, Config: rs.Config, ConfigDir: rs.ConfigDir,
		FileFlags: rs.FileFlags, RunningFlags: rs.Running, DockerUsers: rs.Users}
	if rs.FlagsFile != "" {
		s.Flags = &kubeletunit.FlagsFile{Path: rs.FlagsFile, Var: rs.FlagsVar}
	}
	return s
}

// SaveInstalled records the plugin install put at p and the set-up s; v
// is the plugin's version when known, else it is read from the binary's
// build information.
func SaveInstalled(r *noderoot.Root, s *flavour.Setup, p string, binary []byte, v string) error {
	if v == "" {
		var err error
		if v, err = version.OfReaderAt(bytes.NewReader(binary), p); err != nil {
			v = "unknown (" + err.Error() + ")"
		}
	}
	b, err := json.Marshal(Installed{Path: p, SHA256: Sum(binary), Version: v, Setup: recordSetup(s)})
	if err != nil {
		return err
	}
	return r.PutIfChanged(nodelayout.InstalledFile, b, nodelayout.InstalledFileMode)
}

// LoadInstalled reads what install recorded of the plugin; nil without a
// record (never installed, or a VM node's RAM root lost it). Only a file
// root alone could have written is believed.
func LoadInstalled(r *noderoot.Root) (*Installed, error) {
	b, info, err := r.ReadFile(nodelayout.InstalledFile, noderoot.MaxText)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err == nil {
		err = noderoot.CheckTrusted(nodelayout.InstalledFile, info)
	}
	if err != nil {
		return nil, err
	}
	var in Installed
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("%s is not JSON (%v): `gcrcred node install` writes it again", nodelayout.InstalledFile, err)
	}
	return &in, nil
}

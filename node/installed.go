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
	// Setup is the kubelet set-up install found. A status that is not root
	// cannot read every file detection reads (the packages install
	// kubelet.service 0600, and /var/lib/kubelet is 0700): it checks the
	// node against this instead.
	Setup *recordedSetup `json:"setup,omitempty"`
}

// recordedSetup is what status needs of a setup, none of it secret.
type recordedSetup struct {
	Flavour       string `json:"flavour"`
	Evidence      string `json:"evidence"`
	Service       string `json:"service"`
	Slice         string `json:"slice,omitempty"`
	ExecBinary    string `json:"execBinary"`
	KubeletInMain bool   `json:"kubeletInMain"`
	BinDir        string `json:"binDir"`
	Config        string `json:"config"`
	ConfigDir     string `json:"configDir,omitempty"`
	FlagsFile     string `json:"flagsFile,omitempty"`
	FlagsVar      string `json:"flagsVar,omitempty"`
	FileFlags     []Flag `json:"fileFlags,omitempty"`
	RunningFlags  []Flag `json:"runningFlags,omitempty"`
}

func recordSetup(s *setup) *recordedSetup {
	rs := &recordedSetup{Flavour: s.flavour, Evidence: s.evidence, Service: s.service, ExecBinary: s.execBinary,
		KubeletInMain: s.kubeletInMain, BinDir: s.binDir, Config: s.config, ConfigDir: s.configDir,
		FlagsFile: s.flagsFile, FlagsVar: s.flagsVar, FileFlags: s.fileFlags, RunningFlags: s.runningFlags}
	if s.flagsFile != "" {
		// Detected before install added its own flags to the flags file:
		// recorded as the files give them after it, so that a rerun that
		// changes nothing records the same bytes.
		rs.FileFlags = KubeletFlags()
	}
	if s.unit != nil {
		rs.Slice = s.unit.slice
	}
	return rs
}

// setup is the recorded set-up, as detectFiles would have found it.
func (rs *recordedSetup) setup() *setup {
	return &setup{flavour: rs.Flavour, evidence: rs.Evidence, service: rs.Service, unit: &unit{slice: rs.Slice},
		execBinary: rs.ExecBinary, kubeletInMain: rs.KubeletInMain, binDir: rs.BinDir, config: rs.Config,
		configDir: rs.ConfigDir, flagsFile: rs.FlagsFile, flagsVar: rs.FlagsVar, fileFlags: rs.FileFlags, runningFlags: rs.RunningFlags}
}

// saveInstalled records the plugin install put at p and the set-up s; v
// is the plugin's version when known, else it is read from the binary's
// build information.
func saveInstalled(r *noderoot.Root, s *setup, p string, binary []byte, v string) error {
	if v == "" {
		var err error
		if v, err = version.OfReaderAt(bytes.NewReader(binary), p); err != nil {
			v = "unknown (" + err.Error() + ")"
		}
	}
	b, err := json.Marshal(installed{Path: p, SHA256: sum(binary), Version: v, Setup: recordSetup(s)})
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

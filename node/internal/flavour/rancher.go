package flavour

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/gcrcred/gcrcred/internal/kubeletunit"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/internal/yamlfile"
	"github.com/gcrcred/gcrcred/node/internal/kubelet"
)

// k3s and rke2 give their kubelet the two provider flags when, at start,
// their defaults (or the paths their config names) exist: a bin directory
// and a config file, which may hold other providers. No flags to add:
// files, and a restart of their own unit. k3s runs the kubelet inside its
// own process; rke2 runs it as a child named kubelet.
func init() { register(10, rancher{}) }

type rancher struct{}

// rancherUnits are k3s's and rke2's services, in the order looked for.
var rancherUnits = []struct{ unit, flavour, configDir string }{
	{"k3s", nodelayout.FlavourK3s, "/etc/rancher/k3s"},
	{"k3s-agent", nodelayout.FlavourK3s, "/etc/rancher/k3s"},
	{"rke2-server", nodelayout.FlavourRKE2, "/etc/rancher/rke2"},
	{"rke2-agent", nodelayout.FlavourRKE2, "/etc/rancher/rke2"},
}

// k3sDataDir is where k3s unpacks the binary it re-executes itself as.
const k3sDataDir = "/var/lib/rancher/k3s/data"

func (rancher) Wants() string {
	return "runs in a k3s or rke2 service (k3s, k3s-agent, rke2-server or rke2-agent)"
}

func (rancher) FlagsFiles() []kubeletunit.FlagsFile { return nil }

func (rancher) Detect(n *Node) (*Setup, error) {
	for _, ru := range rancherUnits {
		u, ok, err := kubeletunit.Load(n.R, ru.unit)
		if err != nil {
			return nil, err
		}
		if ok {
			return rancherSetup(n.R, u, ru.flavour, ru.configDir)
		}
	}
	return nil, nil
}

func rancherSetup(r *noderoot.Root, u *kubeletunit.Unit, flavour, configDir string) (*Setup, error) {
	s := &Setup{
		Flavour: flavour, Service: kubelet.Service{Name: u.Name, Unit: u, Slice: u.Slice},
		BinDir: nodelayout.RancherBinDir, Config: nodelayout.RancherConfig, SharedConfig: true, Wrappers: true,
	}
	if flavour == nodelayout.FlavourK3s {
		s.Service.Embedded, s.Service.ExeDataDir = true, k3sDataDir
	} else {
		s.Service.Comm = "kubelet"
	}
	from, err := rancherPaths(r, u, s, configDir)
	if err != nil {
		return nil, err
	}
	if flavour == nodelayout.FlavourRKE2 {
		s.RunningFlags = nodelayout.ProviderFlags(s.Config, s.BinDir)
		s.FileFlags = s.RunningFlags
	}
	s.Evidence = fmt.Sprintf("%s.service (%s); its kubelet reads %s and runs plugins from %s (%s) when both exist at start", u.Name, u.Files[0].Path, s.Config, s.BinDir, from)
	return s, nil
}

// rancherPaths sets the config and bin dir from the service's config files
// (config.yaml, then config.yaml.d/*.yaml in name order) and then its
// command line, each overriding the last; from is what set them last.
func rancherPaths(r *noderoot.Root, u *kubeletunit.Unit, s *Setup, configDir string) (from string, err error) {
	from = "defaults"
	set := func(key, v, where string) {
		switch {
		case !path.IsAbs(v):
		case key == nodelayout.FlagProviderConfig:
			s.Config, from = v, where
		case key == nodelayout.FlagProviderBinDir:
			s.BinDir, from = v, where
		}
	}
	files, err := rancherConfigFiles(r, configDir)
	if err != nil {
		return "", err
	}
	for _, f := range files {
		c, err := r.ReadTrusted(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		var m map[string]any
		if err := yamlfile.Unmarshal([]byte(c), &m); errors.Is(err, yamlfile.ErrUnsupported) {
			// Skipping it could miss the provider paths it sets.
			return "", fmt.Errorf("%s: %v; gcrcred must read it to know where the kubelet looks for the provider config", f, err)
		} else if err != nil {
			continue
		}
		for _, key := range []string{nodelayout.FlagProviderConfig, nodelayout.FlagProviderBinDir} {
			if v, ok := m[key].(string); ok {
				set(key, v, f)
			}
		}
	}
	if !u.HasExec {
		return from, nil
	}
	args, err := u.Args(r)
	if err != nil {
		return "", err
	}
	s.Service.ExecBinary = firstWord(args)
	for _, f := range kubeletunit.ProviderFlags(args) {
		set(f.Key, f.Value, u.ExecFile())
	}
	return from, nil
}

// rancherConfigFiles are config.yaml and config.yaml.d's YAML files.
func rancherConfigFiles(r *noderoot.Root, configDir string) ([]string, error) {
	files := []string{path.Join(configDir, "config.yaml")}
	entries, err := r.Entries(path.Join(configDir, "config.yaml.d"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	slices.Sort(entries)
	for _, e := range entries {
		if strings.HasSuffix(e, ".yaml") || strings.HasSuffix(e, ".yml") {
			files = append(files, path.Join(configDir, "config.yaml.d", e))
		}
	}
	return files, nil
}

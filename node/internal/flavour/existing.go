package flavour

import (
	"fmt"
	"path"

	"github.com/gcrcred/gcrcred/internal/kubeletunit"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/node/internal/kubelet"
)

// provider-config: a kubelet whose unit already gives it another provider
// config (GKE's, EKS's, a kubeadm node set up for another provider):
// gcrcred's provider goes into that config (or, where it names a directory
// of configs, a file of gcrcred's there) and its binary into that bin dir.
// No flags are added. Tried before the set-ups that add flags.
func init() { register(20, existing{}) }

type existing struct{}

// ownConfigFile is gcrcred's own file in a kubelet's config directory.
const ownConfigFile = "gcrcred.yaml"

func (existing) Wants() string {
	return fmt.Sprintf("gets --%s and --%s from its unit (provider-config)", nodelayout.FlagProviderConfig, nodelayout.FlagProviderBinDir)
}

func (existing) FlagsFiles() []kubeletunit.FlagsFile { return nil }

func (existing) Detect(n *Node) (*Setup, error) {
	u, args, err := n.Kubelet()
	if u == nil || err != nil {
		return nil, err
	}
	config, ok := kubeletunit.FlagIn(args, nodelayout.FlagProviderConfig)
	if !ok || config == nodelayout.ProviderConfig {
		return nil, nil
	}
	from := "the kubelet's unit (" + u.ExecFile() + ")"
	binDir, ok := kubeletunit.FlagIn(args, nodelayout.FlagProviderBinDir)
	if !ok || !path.IsAbs(binDir) || !path.IsAbs(config) {
		return nil, fmt.Errorf("%s has --%s=%s but no absolute --%s: the kubelet cannot run a provider that way; fix its flags and rerun", from, nodelayout.FlagProviderConfig, config, nodelayout.FlagProviderBinDir)
	}
	s := &Setup{
		Flavour: nodelayout.FlavourProviderConfig,
		Service: kubelet.Service{Name: "kubelet", Unit: u, Slice: u.Slice, ExecBinary: firstWord(args)},
		BinDir:  binDir, Config: config, SharedConfig: true,
		FileFlags:    kubeletunit.ProviderFlags(args),
		RunningFlags: nodelayout.ProviderFlags(config, binDir),
	}
	s.Evidence = fmt.Sprintf("%s has --%s=%s and --%s=%s", from, nodelayout.FlagProviderConfig, config, nodelayout.FlagProviderBinDir, binDir)
	if info, err := n.R.Lstat(config); err == nil && info.IsDir() {
		s.ConfigDir, s.Config = config, path.Join(config, ownConfigFile)
		s.Evidence += ", a directory of configs"
	}
	return s, nil
}

package node

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/internal/yamlfile"
)

// The kubelet set-ups gcrcred knows.
const (
	FlavourMinikube       = "minikube"
	FlavourKubeadm        = "kubeadm"
	FlavourKind           = "kind"
	FlavourK3s            = "k3s"
	FlavourRKE2           = "rke2"
	FlavourProviderConfig = "provider-config"
)

// setup is how a node's kubelet is configured, and so where gcrcred's
// files and flags go. Everything in it comes from root's files (units,
// drop-ins, environment files, k3s and rke2 configs), never from a running
// process; the running kubelet is only compared with it.
type setup struct {
	flavour  string
	evidence string // the files and flags that say so, for the one line install prints
	service  string // the systemd unit to restart
	unit     *unit  // as loaded

	binDir    string // where the plugin goes
	config    string // the provider config file gcrcred writes (its own, or one it shares)
	configDir string // the kubelet's config directory, when it reads one

	// flagsFile holds the kubelet flags gcrcred adds ("" = none added):
	// minikube's drop-in (flagsVar "") or an environment file (flagsVar the
	// variable).
	flagsFile string
	flagsVar  string

	// execBinary is the unit's ExecStart program, which its main process runs.
	execBinary string
	// kubeletInMain: the unit's main process is the kubelet (k3s: runs it
	// inside); otherwise (rke2) the unit's process named kubelet is.
	kubeletInMain bool
	// fileFlags are the provider flags the files give the kubelet.
	fileFlags []Flag
	// runningFlags are the flags the running kubelet must have (nil: none to check).
	runningFlags []Flag

	bootDropIn bool // minikube: gcrcred's ExecStartPre drop-in
	wrappers   bool // the two sh wrappers on PATH

	kubelet running // the running kubelet, as found at detection
	// untrusted: the bin dir or the config path has a component another
	// user can change; mismatch: the running kubelet's provider flags are
	// not the files'. Either way install changes nothing.
	untrusted error
	mismatch  string
}

// unitFlags reports whether editing the flags file changes a unit (so
// systemd must reload).
func (s *setup) unitFlags() bool { return s.flagsFile != "" && s.flagsVar == "" }

// rancherUnits are k3s's and rke2's services, in the order looked for.
var rancherUnits = []struct{ unit, flavour, configDir string }{
	{"k3s", FlavourK3s, "/etc/rancher/k3s"},
	{"k3s-agent", FlavourK3s, "/etc/rancher/k3s"},
	{"rke2-server", FlavourRKE2, "/etc/rancher/rke2"},
	{"rke2-agent", FlavourRKE2, "/etc/rancher/rke2"},
}

// extraArgsFiles are where kubeadm's drop-in reads KUBELET_EXTRA_ARGS from.
var extraArgsFiles = []string{"/etc/default/kubelet", "/etc/sysconfig/kubelet"}

// detect reads how the node's kubelet is configured, and finds it running;
// it changes nothing and executes nothing.
func detect(r *noderoot.Root) (*setup, error) {
	s, err := detectFiles(r)
	if err != nil {
		return nil, err
	}
	if s.kubelet, err = findKubelet(r, s, isRoot()); err != nil {
		return nil, err
	}
	s.untrusted = trustedPaths(r, s)
	s.mismatch = compareRunning(s)
	return s, nil
}

// refusal is why install must change nothing on this set-up, "" if none.
func (s *setup) refusal() string {
	switch {
	case s.untrusted != nil:
		return fmt.Sprintf("the kubelet's provider paths are not root's alone: %v", s.untrusted)
	case s.mismatch != "":
		return s.mismatch
	}
	return ""
}

// detectFiles is the set-up as the unit files and configs say it.
func detectFiles(r *noderoot.Root) (*setup, error) {
	for _, ru := range rancherUnits {
		u, ok, err := loadUnit(r, ru.unit)
		if err != nil {
			return nil, err
		}
		if ok {
			return rancherSetup(r, u, ru.flavour, ru.configDir)
		}
	}
	u, ok, err := loadUnit(r, "kubelet")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("no kubelet.service in %s, and no k3s or rke2 service: gcrcred finds the kubelet through its systemd unit, and knows kubelets set up by kubeadm, kind, minikube, k3s and rke2, and any kubelet whose unit gives it --%s and --%s", strings.Join(unitDirs, ", "), FlagProviderConfig, FlagProviderBinDir)
	}
	if !u.ok {
		return nil, fmt.Errorf("kubelet.service (%s) has no ExecStart= with a command", u.files[0].path)
	}
	unitArgs, err := u.args(r)
	if err != nil {
		return nil, err
	}
	if s, err := existingProvider(r, u, unitArgs); s != nil || err != nil {
		return s, err
	}
	where := u.files[u.execStart.file].path
	var s *setup
	switch {
	case u.usesVar(extraArgsVar):
		file := ""
		for _, f := range u.envFiles {
			if slices.Contains(extraArgsFiles, f.path) && (file == "" || r.Exists(f.path)) {
				file = f.path
			}
		}
		if file == "" {
			return nil, fmt.Errorf("%s expands $%s, but the kubelet unit reads it from none of %s: add EnvironmentFile=-/etc/default/kubelet to a kubelet drop-in and rerun", where, extraArgsVar, strings.Join(extraArgsFiles, ", "))
		}
		s = ownSetup(FlavourKubeadm)
		s.evidence = fmt.Sprintf("%s reads %s from %s", where, extraArgsVar, file)
		if r.Exists("/kind") {
			s.flavour = FlavourKind
			s.evidence = "/kind exists; " + s.evidence
		}
		s.flagsFile, s.flagsVar = file, extraArgsVar
	case where == MinikubeDropIn && r.Exists(minikubeHome):
		s = ownSetup(FlavourMinikube)
		s.evidence = where + " holds the kubelet's flags on its ExecStart line, which reads no environment file"
		s.flagsFile = MinikubeDropIn
		s.bootDropIn = true
	default:
		return nil, fmt.Errorf("the kubelet's ExecStart (in %s) neither expands $%s from %s (kubeadm, kind) nor is minikube's %s, there is no k3s or rke2 service, and the unit gives the kubelet no --%s: gcrcred does not know where this kubelet's flags go; give it --%s and --%s in its unit and rerun",
			where, extraArgsVar, strings.Join(extraArgsFiles, " or "), MinikubeDropIn, FlagProviderConfig, FlagProviderConfig, FlagProviderBinDir)
	}
	s.unit, s.execBinary = u, firstWord(unitArgs)
	s.fileFlags = providerFlags(unitArgs)
	return s, nil
}

// ownSetup is a node where gcrcred brings its own config and bin dir.
func ownSetup(flavour string) *setup {
	return &setup{
		flavour: flavour, service: "kubelet", binDir: BinDir, config: ProviderConfig,
		kubeletInMain: true, runningFlags: KubeletFlags(), wrappers: true,
	}
}

// existingProvider is the set-up of a kubelet whose unit already gives it
// another provider config: gcrcred's provider goes into that config and
// its binary into that bin dir.
func existingProvider(r *noderoot.Root, u *unit, unitArgs []string) (*setup, error) {
	if !hasForeignConfig(unitArgs) {
		return nil, nil
	}
	from := "the kubelet's unit (" + u.files[u.execStart.file].path + ")"
	config, _ := flagIn(unitArgs, FlagProviderConfig)
	binDir, ok := flagIn(unitArgs, FlagProviderBinDir)
	if !ok || !path.IsAbs(binDir) || !path.IsAbs(config) {
		return nil, fmt.Errorf("%s has --%s=%s but no absolute --%s: the kubelet cannot run a provider that way; fix its flags and rerun", from, FlagProviderConfig, config, FlagProviderBinDir)
	}
	s := &setup{
		flavour: FlavourProviderConfig, service: "kubelet", unit: u, binDir: binDir, config: config,
		execBinary: firstWord(unitArgs), kubeletInMain: true,
		fileFlags:    providerFlags(unitArgs),
		runningFlags: []Flag{{FlagProviderConfig, config}, {FlagProviderBinDir, binDir}},
	}
	s.evidence = fmt.Sprintf("%s has --%s=%s and --%s=%s", from, FlagProviderConfig, config, FlagProviderBinDir, binDir)
	if info, err := r.Lstat(config); err == nil && info.IsDir() {
		s.configDir, s.config = config, path.Join(config, ourConfigFile)
		s.evidence += ", a directory of configs"
	}
	return s, nil
}

func hasForeignConfig(args []string) bool {
	v, ok := flagIn(args, FlagProviderConfig)
	return ok && v != ProviderConfig
}

func firstWord(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// providerFlags are the two provider flags args carry.
func providerFlags(args []string) []Flag {
	var out []Flag
	for _, key := range []string{FlagProviderConfig, FlagProviderBinDir} {
		if v, ok := flagIn(args, key); ok {
			out = append(out, Flag{key, v})
		}
	}
	return out
}

// rancherSetup is k3s or rke2: they give their kubelet the two flags when,
// at start, their defaults (or the paths their config names) exist: a bin
// directory and a config file. No flags to add: files, and a restart.
func rancherSetup(r *noderoot.Root, u *unit, flavour, configDir string) (*setup, error) {
	s := &setup{
		flavour: flavour, service: u.name, unit: u, binDir: RancherBinDir, config: RancherConfig,
		kubeletInMain: flavour == FlavourK3s, wrappers: true,
	}
	from := "defaults"
	set := func(key, v, where string) {
		switch key {
		case FlagProviderConfig:
			s.config, from = v, where
		case FlagProviderBinDir:
			s.binDir, from = v, where
		}
	}
	files := []string{path.Join(configDir, "config.yaml")}
	entries, err := dirEntries(r, path.Join(configDir, "config.yaml.d"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	slices.Sort(entries)
	for _, e := range entries {
		if strings.HasSuffix(e, ".yaml") || strings.HasSuffix(e, ".yml") {
			files = append(files, path.Join(configDir, "config.yaml.d", e))
		}
	}
	for _, f := range files {
		c, err := readTrusted(r, f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := yamlfile.Unmarshal([]byte(c), &m); errors.Is(err, yamlfile.ErrUnsupported) {
			// Skipping it could miss the provider paths it sets.
			return nil, fmt.Errorf("%s: %v; gcrcred must read it to know where %s looks for the provider config", f, err, flavour)
		} else if err != nil {
			continue
		}
		for _, key := range []string{FlagProviderConfig, FlagProviderBinDir} {
			if v, ok := m[key].(string); ok && path.IsAbs(v) {
				set(key, v, f)
			}
		}
	}
	if u.ok {
		args, err := u.args(r)
		if err != nil {
			return nil, err
		}
		s.execBinary = firstWord(args)
		for _, key := range []string{FlagProviderConfig, FlagProviderBinDir} {
			if v, ok := flagIn(args, key); ok && path.IsAbs(v) {
				set(key, v, u.files[u.execStart.file].path)
			}
		}
	}
	if flavour == FlavourRKE2 {
		s.runningFlags = []Flag{{FlagProviderConfig, s.config}, {FlagProviderBinDir, s.binDir}}
		s.fileFlags = s.runningFlags
	}
	s.evidence = fmt.Sprintf("%s.service (%s); its kubelet reads %s and runs plugins from %s (%s) when both exist at start", u.name, u.files[0].path, s.config, s.binDir, from)
	return s, nil
}

// trustedPaths checks that only root can change anything on the way to
// the bin dir, the plugin in it and the provider config.
func trustedPaths(r *noderoot.Root, s *setup) error {
	for _, p := range []string{path.Join(s.binDir, pluginName), s.config} {
		if err := r.CheckPath(p); err != nil {
			return err
		}
	}
	return nil
}

// compareRunning says how the running kubelet's provider flags differ
// from what the files give it ("" if they do not): a flag the files lack
// or set otherwise means a set-up gcrcred cannot see, so install changes
// nothing. A kubelet without them (not restarted since the files gained
// them) is no mismatch, nor, where gcrcred adds its own flags, a kubelet
// running with exactly those (a flags file edited since: install puts
// them back).
func compareRunning(s *setup) string {
	p := s.kubelet.proc
	if p == nil || !s.kubeletInMainArgs() {
		return ""
	}
	var bad []string
	for _, key := range []string{FlagProviderConfig, FlagProviderBinDir} {
		rv, ok := flagIn(p.args, key)
		if !ok {
			continue
		}
		fv, fok := flagValue(s.fileFlags, key)
		if fok && fv == rv {
			continue
		}
		if s.flagsFile != "" {
			if ov, _ := flagValue(KubeletFlags(), key); ov == rv {
				continue
			}
		}
		want := "nothing"
		if fok {
			want = fv
		}
		bad = append(bad, fmt.Sprintf("--%s=%s (the files give %s)", key, rv, want))
	}
	if len(bad) == 0 {
		return ""
	}
	return fmt.Sprintf("the running kubelet (pid %d of %s.service) has %s: it was started with flags its unit files do not give it; restart it (`systemctl restart %s`) or fix the files, and rerun", p.pid, s.service, strings.Join(bad, ", "), s.service)
}

// kubeletInMainArgs reports whether the kubelet's flags are on a command
// line of its own (not k3s's, whose kubelet runs inside it).
func (s *setup) kubeletInMainArgs() bool { return s.flavour != FlavourK3s }

func flagValue(flags []Flag, key string) (string, bool) {
	for _, f := range flags {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}

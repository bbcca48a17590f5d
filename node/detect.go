package node

import (
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/gcrcred/gcrcred/internal/nodeexec"
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
// files and flags go.
type setup struct {
	flavour  string
	evidence string // the files and flags that say so, for the one line install prints
	service  string // the systemd unit to restart

	binDir    string // where the plugin goes
	config    string // the provider config file gcrcred writes (its own, or one it shares)
	configDir string // the kubelet's config directory, when it reads one

	// flagsFile holds the kubelet flags gcrcred adds ("" = none added):
	// minikube's drop-in (flagsVar "") or an environment file (flagsVar the
	// variable).
	flagsFile string
	flagsVar  string

	// kubeletComm names the process whose flags and start time count; k3s
	// runs its kubelet inside itself.
	kubeletComm []string
	// runningFlags are the flags the running kubelet must have (nil: none to check).
	runningFlags []Flag

	bootDropIn bool // minikube: gcrcred's ExecStartPre drop-in
	wrappers   bool // the two sh wrappers on PATH
}

// unitChanged reports whether editing the flags file changes a unit (so
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

// detect reads how the node's kubelet is configured; it changes nothing.
func detect(r nodeexec.Root) (*setup, error) {
	for _, ru := range rancherUnits {
		if u, ok := loadUnit(r, ru.unit); ok {
			return rancherSetup(r, u, ru.flavour, ru.configDir), nil
		}
	}

	running := findProcess(r, "kubelet")
	u, hasUnit := loadUnit(r, "kubelet")
	var unitArgs []string
	if hasUnit && u.ok {
		unitArgs = u.args(r)
	}
	if s, err := existingProvider(r, running, u, unitArgs); s != nil || err != nil {
		return s, err
	}
	if !hasUnit {
		why := "no kubelet.service in " + strings.Join(unitDirs, ", ") + ", no k3s or rke2 service"
		if running == nil {
			why += ", and no kubelet running"
		} else {
			why += fmt.Sprintf(", and the running kubelet (pid %d) has no --%s", running.pid, FlagProviderConfig)
		}
		return nil, fmt.Errorf("%s: gcrcred knows kubelets set up by kubeadm, kind, minikube, k3s and rke2, and any kubelet already started with --%s and --%s", why, FlagProviderConfig, FlagProviderBinDir)
	}
	if !u.ok {
		return nil, fmt.Errorf("kubelet.service (%s) has no ExecStart= with a command", u.files[0].path)
	}
	where := u.files[u.execStart.file].path
	if u.usesVar(extraArgsVar) {
		file := ""
		for _, f := range u.envFiles {
			if slices.Contains(extraArgsFiles, f.path) && (file == "" || nodeExists(r, f.path)) {
				file = f.path
			}
		}
		if file == "" {
			return nil, fmt.Errorf("%s expands $%s, but the kubelet unit reads it from none of %s: add EnvironmentFile=-/etc/default/kubelet to a kubelet drop-in and rerun", where, extraArgsVar, strings.Join(extraArgsFiles, ", "))
		}
		s := ownSetup(FlavourKubeadm)
		s.evidence = fmt.Sprintf("%s reads %s from %s", where, extraArgsVar, file)
		if nodeExists(r, "/kind") {
			s.flavour = FlavourKind
			s.evidence = "/kind exists; " + s.evidence
		}
		s.flagsFile, s.flagsVar = file, extraArgsVar
		return s, nil
	}
	if where == MinikubeDropIn && nodeExists(r, minikubeHome) {
		s := ownSetup(FlavourMinikube)
		s.evidence = where + " holds the kubelet's flags on its ExecStart line, which reads no environment file"
		s.flagsFile = MinikubeDropIn
		s.bootDropIn = true
		return s, nil
	}
	return nil, fmt.Errorf("the kubelet's ExecStart (in %s) neither expands $%s from %s (kubeadm, kind) nor is minikube's %s, there is no k3s or rke2 service, and the kubelet does not run with --%s: gcrcred does not know where this kubelet's flags go; start it with --%s and --%s and rerun",
		where, extraArgsVar, strings.Join(extraArgsFiles, " or "), MinikubeDropIn, FlagProviderConfig, FlagProviderConfig, FlagProviderBinDir)
}

// ownSetup is a node where gcrcred brings its own config and bin dir.
func ownSetup(flavour string) *setup {
	return &setup{
		flavour: flavour, service: "kubelet", binDir: BinDir, config: ProviderConfig,
		kubeletComm: []string{"kubelet"}, runningFlags: KubeletFlags(), wrappers: true,
	}
}

// existingProvider is the set-up of a kubelet that already runs (or is
// configured to run) with another provider config: gcrcred's provider goes
// into that config and its binary into that bin dir.
func existingProvider(r nodeexec.Root, running *process, u *unit, unitArgs []string) (*setup, error) {
	var args []string
	var from string
	switch {
	case running != nil && hasForeignConfig(running.args):
		args, from = running.args, fmt.Sprintf("the running kubelet (pid %d)", running.pid)
	case hasForeignConfig(unitArgs):
		args, from = unitArgs, "the kubelet's unit ("+u.files[u.execStart.file].path+")"
	default:
		return nil, nil
	}
	config, _ := flagIn(args, FlagProviderConfig)
	binDir, ok := flagIn(args, FlagProviderBinDir)
	if !ok || !path.IsAbs(binDir) || !path.IsAbs(config) {
		return nil, fmt.Errorf("%s has --%s=%s but no absolute --%s: the kubelet cannot run a provider that way; fix its flags and rerun", from, FlagProviderConfig, config, FlagProviderBinDir)
	}
	s := &setup{
		flavour: FlavourProviderConfig, service: "kubelet", binDir: binDir, config: config,
		kubeletComm:  []string{"kubelet"},
		runningFlags: []Flag{{FlagProviderConfig, config}, {FlagProviderBinDir, binDir}},
	}
	s.evidence = fmt.Sprintf("%s has --%s=%s and --%s=%s", from, FlagProviderConfig, config, FlagProviderBinDir, binDir)
	if hp, err := r.Resolve(config); err == nil {
		if fi, err := os.Stat(hp); err == nil && fi.IsDir() {
			s.configDir, s.config = config, path.Join(config, ourConfigFile)
			s.evidence += ", a directory of configs"
		}
	}
	return s, nil
}

func hasForeignConfig(args []string) bool {
	v, ok := flagIn(args, FlagProviderConfig)
	return ok && v != ProviderConfig
}

// rancherSetup is k3s or rke2: they give their kubelet the two flags when,
// at start, their defaults (or the paths their config names) exist: a bin
// directory and a config file. No flags to add: files, and a restart.
func rancherSetup(r nodeexec.Root, u *unit, flavour, configDir string) *setup {
	s := &setup{
		flavour: flavour, service: u.name, binDir: RancherBinDir, config: RancherConfig,
		kubeletComm: []string{"kubelet"}, wrappers: true,
	}
	if flavour == FlavourK3s {
		s.kubeletComm = []string{"k3s-server", "k3s-agent", "k3s"}
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
	if hp, err := r.Resolve(path.Join(configDir, "config.yaml.d")); err == nil {
		entries, _ := os.ReadDir(hp)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml") {
				files = append(files, path.Join(configDir, "config.yaml.d", e.Name()))
			}
		}
	}
	for _, f := range files {
		c, err := readNodeFile(r, f)
		if err != nil {
			continue
		}
		var m map[string]any
		if yaml.Unmarshal([]byte(c), &m) != nil {
			continue
		}
		for _, key := range []string{FlagProviderConfig, FlagProviderBinDir} {
			if v, ok := m[key].(string); ok && path.IsAbs(v) {
				set(key, v, f)
			}
		}
	}
	if u.ok {
		args := u.args(r)
		for _, key := range []string{FlagProviderConfig, FlagProviderBinDir} {
			if v, ok := flagIn(args, key); ok && path.IsAbs(v) {
				set(key, v, u.files[u.execStart.file].path)
			}
		}
	}
	if flavour == FlavourRKE2 {
		s.runningFlags = []Flag{{FlagProviderConfig, s.config}, {FlagProviderBinDir, s.binDir}}
	}
	s.evidence = fmt.Sprintf("%s.service (%s); its kubelet reads %s and runs plugins from %s (%s) when both exist at start", u.name, u.files[0].path, s.config, s.binDir, from)
	return s
}

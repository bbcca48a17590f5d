// Package flavour is the kubelet set-ups `gcrcred node` knows, one file
// each: how each is recognised from root's files (units, drop-ins,
// environment files, configs), and where gcrcred's binary, provider config
// and flags go on it (a Setup). The install engine works over a Setup and
// knows no flavour by name. Adding a set-up is one file that registers a
// Flavour in its init, and its test.
//
// Everything in a Setup comes from root's files, never from a running
// process; the running kubelet is only compared with it (trust.go).
package flavour

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/gcrcred/gcrcred/internal/kubeletunit"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/node/internal/kubelet"
)

// Flavour is one kubelet set-up.
type Flavour interface {
	// Detect is the set-up if the node's files say it is this one; nil
	// (and no error) if they do not.
	Detect(n *Node) (*Setup, error)
	// Wants says what this set-up is recognised by, for the message when
	// no set-up is: "expands $X from FILE (kubeadm, kind)".
	Wants() string
	// FlagsFiles are where this set-up keeps gcrcred's kubelet flags, for
	// a node that lost install's record (nil: it adds none).
	FlagsFiles() []kubeletunit.FlagsFile
}

// registered are the flavours by the order they are tried in.
var registered []struct {
	order int
	f     Flavour
}

// register adds a flavour, tried in ascending order: one that claims its
// own units (k3s, rke2) before those of kubelet.service, and among these
// the one a provider flag in the unit makes before the others.
func register(order int, f Flavour) {
	registered = append(registered, struct {
		order int
		f     Flavour
	}{order, f})
	sort.SliceStable(registered, func(i, j int) bool { return registered[i].order < registered[j].order })
}

// All are the flavours in the order they are tried.
func All() []Flavour {
	out := make([]Flavour, len(registered))
	for i, r := range registered {
		out[i] = r.f
	}
	return out
}

// Setup is how a node's kubelet is configured, and so where gcrcred's
// files and flags go.
type Setup struct {
	Flavour  string // nodelayout.Flavour*
	Evidence string // the files and flags that say so, for the line install prints
	Service  kubelet.Service

	BinDir string // where the plugin goes
	Config string // the provider config file gcrcred writes (its own, or one it shares)
	// ConfigDir is the kubelet's directory of provider configs, when it
	// reads one: Config is gcrcred's own file in it.
	ConfigDir string
	// SharedConfig: Config may hold other providers; gcrcred's is merged
	// in and taken out, everything else kept.
	SharedConfig bool
	// Flags is where gcrcred adds its kubelet flags (nil: it adds none).
	Flags *kubeletunit.FlagsFile
	// FileFlags are the provider flags the files give the kubelet.
	FileFlags []nodelayout.Flag
	// RunningFlags are the flags the running kubelet must have (nil: none to check).
	RunningFlags []nodelayout.Flag

	BootDropIn bool // gcrcred's ExecStartPre drop-in (minikube)
	Wrappers   bool // the two sh wrappers on PATH
	// DockerUsers are the users whose Docker install points at gcrcred
	// when the node's record does not say (minikube).
	DockerUsers []string
	// FilesOutliveRecord: something puts gcrcred's files back without its
	// record (minikube's file sync into a VM's RAM root), so a file of
	// gcrcred's path is gcrcred's without a record saying so.
	FilesOutliveRecord bool

	Kubelet kubelet.Running // the running kubelet, as found at detection
	// Untrusted: the bin dir or the config path has a component another
	// user can change; Mismatch: the running kubelet's provider flags are
	// not the files'. Either way install changes nothing.
	Untrusted error
	Mismatch  string
}

// Plugin is where the plugin goes.
func (s *Setup) Plugin() string { return path.Join(s.BinDir, nodelayout.PluginName) }

// ownSetup is a node where gcrcred brings its own config and bin dir, and
// adds its own flags.
func ownSetup(flavour string, u *kubeletunit.Unit, args []string) *Setup {
	return &Setup{
		Flavour: flavour,
		Service: kubelet.Service{Name: "kubelet", Unit: u, Slice: u.Slice, ExecBinary: firstWord(args)},
		BinDir:  nodelayout.BinDir, Config: nodelayout.ProviderConfig,
		FileFlags: kubeletunit.ProviderFlags(args), RunningFlags: nodelayout.KubeletFlags(), Wrappers: true,
	}
}

func firstWord(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// Node is a node being detected: its root, and kubelet.service loaded once.
type Node struct {
	R *noderoot.Root

	loaded  bool
	kubelet *kubeletunit.Unit
	args    []string
	err     error
}

// Kubelet is kubelet.service and its command line as systemd would run it
// (nil without a unit file).
func (n *Node) Kubelet() (*kubeletunit.Unit, []string, error) {
	if !n.loaded {
		n.loaded = true
		n.kubelet, n.args, n.err = n.loadKubelet()
	}
	return n.kubelet, n.args, n.err
}

func (n *Node) loadKubelet() (*kubeletunit.Unit, []string, error) {
	u, ok, err := kubeletunit.Load(n.R, "kubelet")
	if err != nil || !ok {
		return nil, nil, err
	}
	if !u.HasExec {
		return nil, nil, fmt.Errorf("kubelet.service (%s) has no ExecStart= with a command", u.Files[0].Path)
	}
	args, err := u.Args(n.R)
	if err != nil {
		return nil, nil, err
	}
	return u, args, nil
}

// Detect reads how the node's kubelet is configured, and finds it running;
// it changes nothing and executes nothing. asRoot: also check that the
// kubelet runs its unit's binary (only root may read that).
func Detect(r *noderoot.Root, asRoot bool) (*Setup, error) {
	s, err := detectFiles(&Node{R: r})
	if err != nil {
		return nil, err
	}
	if s.Kubelet, err = kubelet.Find(r, &s.Service, asRoot); err != nil {
		return nil, err
	}
	s.Check(r)
	return s, nil
}

// detectFiles is the set-up as the node's files say it: the first flavour
// that recognises them.
func detectFiles(n *Node) (*Setup, error) {
	var wants []string
	for _, f := range All() {
		s, err := f.Detect(n)
		if s != nil || err != nil {
			return s, err
		}
		wants = append(wants, f.Wants())
	}
	u, _, err := n.Kubelet()
	switch {
	case err != nil:
		return nil, err
	case u == nil:
		return nil, fmt.Errorf("no kubelet.service in %s, and none of the set-ups gcrcred knows: gcrcred finds the kubelet through its systemd unit, and knows a kubelet that %s", strings.Join(kubeletunit.Dirs, ", "), strings.Join(wants, "; or that "))
	}
	return nil, fmt.Errorf("this kubelet (its ExecStart in %s) is none of the set-ups gcrcred knows: it neither %s; gcrcred does not know where this kubelet's flags go: give it --%s and --%s in its unit and rerun",
		u.ExecFile(), strings.Join(wants, ", nor "), nodelayout.FlagProviderConfig, nodelayout.FlagProviderBinDir)
}

// Refusal is why install must change nothing on this set-up, "" if none.
func (s *Setup) Refusal() string {
	switch {
	case s.Untrusted != nil:
		return fmt.Sprintf("the kubelet's provider paths are not root's alone: %v", s.Untrusted)
	case s.Mismatch != "":
		return s.Mismatch
	}
	return ""
}

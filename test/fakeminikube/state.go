package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// miniPath resolves MINIKUBE_HOME as minikube does.
func miniPath() string {
	h := os.Getenv("MINIKUBE_HOME")
	switch {
	case h == "":
		home, _ := os.UserHomeDir()
		return filepath.Join(home, ".minikube")
	case filepath.Base(h) == ".minikube":
		return h
	}
	return filepath.Join(h, ".minikube")
}

func profileConfigPath(profile string) string {
	return filepath.Join(miniPath(), "profiles", profile, "config.json")
}

// profile is a profile's config.json, kept as a generic document so that
// keys the fake does not know (the installer's, a future minikube's) survive
// its rewrites, as they do minikube's own.
type profile struct {
	name string
	doc  map[string]any
}

func loadProfile(name string) (*profile, error) {
	b, err := os.ReadFile(profileConfigPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("Profile %q not found. Run \"minikube profile list\" to view all profiles", name)
	}
	if err != nil {
		return nil, err
	}
	p := &profile{name: name}
	if err := json.Unmarshal(b, &p.doc); err != nil {
		return nil, fmt.Errorf("%s: %v", profileConfigPath(name), err)
	}
	return p, nil
}

func newProfile(name, k8sVersion string) *profile {
	return &profile{name: name, doc: map[string]any{
		"Name":   name,
		"Driver": "fake",
		"Memory": 2200,
		"CPUs":   2,
		"KubernetesConfig": map[string]any{
			"KubernetesVersion": k8sVersion,
			"ClusterName":       name,
			"ContainerRuntime":  "docker",
			"ExtraOptions":      nil,
			"NodePort":          8443,
		},
		"Nodes":  []any{},
		"Addons": map[string]any{"default-storageclass": true, "storage-provisioner": true},
	}}
}

func (p *profile) save() error {
	b, err := json.MarshalIndent(p.doc, "", "    ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(profileConfigPath(p.name)), 0o755); err != nil {
		return err
	}
	return os.WriteFile(profileConfigPath(p.name), b, 0o644)
}

func (p *profile) kube() map[string]any {
	k, _ := p.doc["KubernetesConfig"].(map[string]any)
	if k == nil {
		k = map[string]any{}
		p.doc["KubernetesConfig"] = k
	}
	return k
}

func (p *profile) k8sVersion() string {
	v, _ := p.kube()["KubernetesVersion"].(string)
	return v
}

// kubeletOptions are the saved `--extra-config=kubelet.KEY=VALUE`s.
func (p *profile) kubeletOptions() map[string]string {
	opts := map[string]string{}
	list, _ := p.kube()["ExtraOptions"].([]any)
	for _, o := range list {
		m, _ := o.(map[string]any)
		if m["Component"] == "kubelet" {
			k, _ := m["Key"].(string)
			v, _ := m["Value"].(string)
			opts[k] = v
		}
	}
	return opts
}

// setExtraConfig replaces the saved list, as `minikube start --extra-config` does.
func (p *profile) setExtraConfig(specs []string) error {
	var list []any
	for _, s := range specs {
		compKey, value, ok := strings.Cut(s, "=")
		comp, key, ok2 := strings.Cut(compKey, ".")
		if !ok || !ok2 {
			return fmt.Errorf("invalid --extra-config %q: want component.key=value", s)
		}
		list = append(list, map[string]any{"Component": comp, "Key": key, "Value": value})
	}
	p.kube()["ExtraOptions"] = list
	return nil
}

// machineNames are the node names minikube shows: PROFILE, PROFILE-m02, ...
func (p *profile) machineNames() []string {
	nodes, _ := p.doc["Nodes"].([]any)
	var names []string
	for i := range nodes {
		names = append(names, machineName(p.name, i))
	}
	return names
}

func machineName(profile string, i int) string {
	if i == 0 {
		return profile
	}
	return fmt.Sprintf("%s-m%02d", profile, i+1)
}

func (p *profile) addNodeRecord(i int) {
	nodes, _ := p.doc["Nodes"].([]any)
	name := ""
	if i > 0 {
		name = fmt.Sprintf("m%02d", i+1)
	}
	nodes = append(nodes, map[string]any{
		"Name": name, "IP": nodeIP(i), "Port": 8443, "KubernetesVersion": p.k8sVersion(),
		"ContainerRuntime": "docker", "ControlPlane": i == 0, "Worker": true,
	})
	p.doc["Nodes"] = nodes
}

func nodeIP(i int) string { return fmt.Sprintf("192.168.49.%d", i+2) }

// node is the fake's own record of a node: what minikube keeps in its
// machine store.
type node struct {
	Name    string
	Index   int
	Flavor  string // kicbase (Debian, persistent root) or buildroot (root in RAM)
	Arch    string // what `uname -m` says
	Running bool
	Booted  bool // has booted once (a Buildroot reboot loses its RAM root)
}

func stateDir() string {
	d := os.Getenv("FAKE_MINIKUBE_STATE")
	if d == "" {
		fmt.Fprintln(os.Stderr, "fakeminikube: FAKE_MINIKUBE_STATE is not set")
		os.Exit(2)
	}
	return d
}

func nodeDir(profile, name string) string {
	return filepath.Join(stateDir(), "profiles", profile, "nodes", name)
}

// nodeRoot is the node's file system, entered with chroot.
func nodeRoot(profile, name string) string { return filepath.Join(nodeDir(profile, name), "root") }

func loadNode(profile, name string) (*node, error) {
	b, err := os.ReadFile(filepath.Join(nodeDir(profile, name), "node.json"))
	if err != nil {
		return nil, fmt.Errorf("node %s of profile %s does not exist", name, profile)
	}
	var n node
	return &n, json.Unmarshal(b, &n)
}

func (n *node) save(profile string) error {
	b, _ := json.MarshalIndent(n, "", "  ")
	if err := os.MkdirAll(nodeDir(profile, n.Name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(nodeDir(profile, n.Name), "node.json"), b, 0o644)
}

// flavorFor picks node i's flavor and architecture from FAKE_MINIKUBE_NODES.
func flavorFor(i int) (flavor, arch string) {
	specs := strings.Split(os.Getenv("FAKE_MINIKUBE_NODES"), ",")
	spec := specs[len(specs)-1]
	if i < len(specs) {
		spec = specs[i]
	}
	flavor, arch, _ = strings.Cut(strings.TrimSpace(spec), "/")
	if flavor == "" {
		flavor = "kicbase"
	}
	if arch == "" {
		arch = "x86_64"
	}
	return flavor, arch
}

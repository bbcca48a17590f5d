package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// kind is the fake kind CLI: `create cluster [--name N] [--config FILE]`,
// `get nodes [--name N]`, `get clusters`, `delete cluster [--name N]`. A
// node is a root of the "kind" flavour (kubeadm's drop-in, /kind), booted
// as the node image boots (its kubelet started through the fake systemd);
// `docker` reaches it. Names are kind's: N-control-plane, N-worker,
// N-worker2, ...; the node architecture is FAKE_KIND_ARCH (x86_64).
func kind(args []string) int {
	logCall("kind", args)
	words, flags := splitFlags(args)
	cluster := flags["name"]
	if cluster == "" {
		cluster = os.Getenv("KIND_CLUSTER_NAME")
	}
	if cluster == "" {
		cluster = "kind"
	}
	switch strings.Join(words, " ") {
	case "create cluster":
		return kindCreate(cluster, flags["config"])
	case "get nodes":
		names := kindNodeNames(cluster)
		if len(names) == 0 {
			fmt.Fprintf(os.Stderr, "No kind nodes found for cluster %q.\n", cluster)
			return 0
		}
		for _, n := range names {
			fmt.Println(n)
		}
		return 0
	case "get clusters":
		entries, _ := os.ReadDir(filepath.Join(stateDir(), "kind"))
		for _, e := range entries {
			fmt.Println(e.Name())
		}
		return 0
	case "delete cluster":
		fmt.Printf("Deleting cluster %q ...\n", cluster)
		return exitOn(os.RemoveAll(kindClusterDir(cluster)))
	case "version":
		fmt.Println("kind v0.31.0 go1.26 linux/amd64 (fake)")
		return 0
	}
	fmt.Fprintf(os.Stderr, "ERROR: fake kind does not implement %q\n", strings.Join(words, " "))
	return 1
}

// splitFlags reads a command line whose flags all take a value (--name N,
// --name=N): the words, and the flags by name (without dashes).
func splitFlags(args []string) (words []string, flags map[string]string) {
	flags = map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			words = append(words, a)
			continue
		}
		name, value, ok := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !ok && i+1 < len(args) {
			i++
			value = args[i]
		}
		flags[name] = value
	}
	return words, flags
}

func kindClusterDir(cluster string) string { return filepath.Join(stateDir(), "kind", cluster) }

// kindNodeNames are the cluster's nodes, as `kind get nodes` lists them.
func kindNodeNames(cluster string) []string {
	entries, _ := os.ReadDir(kindClusterDir(cluster))
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// kindCreate makes the nodes a kind config lists (one control plane by
// default) and boots them.
func kindCreate(cluster, configFile string) int {
	if len(kindNodeNames(cluster)) > 0 {
		fmt.Fprintf(os.Stderr, "ERROR: failed to create cluster: node(s) already exist for a cluster with the name %q\n", cluster)
		return 1
	}
	var cfg struct {
		Nodes []struct {
			Role string `json:"role"`
		} `json:"nodes"`
	}
	if configFile != "" {
		b, err := os.ReadFile(configFile)
		if err == nil {
			err = yaml.Unmarshal(b, &cfg)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "ERROR: failed to create cluster: %v\n", err)
			return 1
		}
	}
	if len(cfg.Nodes) == 0 {
		cfg.Nodes = append(cfg.Nodes, struct {
			Role string `json:"role"`
		}{"control-plane"})
	}
	arch := os.Getenv("FAKE_KIND_ARCH")
	if arch == "" {
		arch = "x86_64"
	}
	count := map[string]int{}
	fmt.Printf("Creating cluster %q ...\n", cluster)
	for i, spec := range cfg.Nodes {
		count[spec.Role]++
		name := cluster + "-" + spec.Role
		if count[spec.Role] > 1 {
			name += fmt.Sprint(count[spec.Role])
		}
		n := &node{Name: name, Index: i, Flavor: "kind", Arch: arch}
		root := filepath.Join(kindClusterDir(cluster), name, "root")
		if err := ensureBase(root, n, defaultK8sVersion); err != nil {
			return fail("ERROR: failed to create cluster: %v", err)
		}
		if err := startServices(root, "kubelet"); err != nil {
			return fail("ERROR: failed to create cluster: %v", err)
		}
		n.Running, n.Booted = true, true
		if err := saveContainer(cluster, n); err != nil {
			return fail("ERROR: %v", err)
		}
	}
	fmt.Printf("Set kubectl context to \"kind-%s\"\n", cluster)
	return 0
}

// container is a kind node as docker knows it: its cluster, record and root.
type container struct {
	cluster string
	n       *node
	root    string
}

func saveContainer(cluster string, n *node) error {
	b, _ := json.MarshalIndent(n, "", "  ")
	return os.WriteFile(filepath.Join(kindClusterDir(cluster), n.Name, "node.json"), b, 0o644)
}

// findContainer is the kind node of that name, in any cluster.
func findContainer(name string) (*container, error) {
	m, _ := filepath.Glob(filepath.Join(stateDir(), "kind", "*", name, "node.json"))
	if len(m) == 0 || name == "" || strings.ContainsAny(name, "/*?[") {
		return nil, fmt.Errorf("Error response from daemon: No such container: %s", name)
	}
	b, err := os.ReadFile(m[0])
	if err != nil {
		return nil, err
	}
	var n node
	if err := json.Unmarshal(b, &n); err != nil {
		return nil, err
	}
	dir := filepath.Dir(m[0])
	return &container{cluster: filepath.Base(filepath.Dir(dir)), n: &n, root: filepath.Join(dir, "root")}, nil
}

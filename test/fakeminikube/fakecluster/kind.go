package fakecluster

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Kind clusters live in the same fake world as minikube's profiles (the
// same state directory, node roots of test/userland and fake systemd), reached with
// the fake kind and docker.

// KindCreate creates a kind cluster with one control-plane node and
// workers worker nodes, and returns its node names.
func (c *Cluster) KindCreate(name string, workers int) []string {
	c.t.Helper()
	config := "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n" + strings.Repeat("- role: worker\n", workers)
	file := filepath.Join(c.State, "kind-"+name+".yaml")
	if err := os.WriteFile(file, []byte(config), 0o644); err != nil {
		c.t.Fatal(err)
	}
	if out, err := c.Tool("kind", "create", "cluster", "--name", name, "--config", file); err != nil {
		c.t.Fatalf("kind create cluster: %v\n%s", err, out)
	}
	return c.KindNodes(name)
}

// KindNodes are the cluster's nodes, as `kind get nodes` lists them.
func (c *Cluster) KindNodes(name string) []string {
	c.t.Helper()
	out, err := c.Tool("kind", "get", "nodes", "--name", name)
	if err != nil {
		c.t.Fatalf("kind get nodes: %v\n%s", err, out)
	}
	var names []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "No kind nodes") {
			names = append(names, l)
		}
	}
	return names
}

// KindNode is a node of a kind cluster.
func (c *Cluster) KindNode(cluster, node string) *Node {
	return &Node{t: c.t, Root: filepath.Join(c.State, "kind", cluster, node, "root")}
}

// Tool runs one of the fake CLIs (minikube, kind, docker, kubectl) with
// the world's environment and returns its combined output.
func (c *Cluster) Tool(name string, args ...string) (string, error) {
	dir := c.Bin
	switch name {
	case "kind", "docker":
		dir = c.KindDir()
	case "kubectl":
		dir = c.KubectlDir()
	}
	cmd := exec.Command(filepath.Join(dir, name), args...)
	cmd.Env = c.Env()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// APIObjects are the objects the fake kubectl applied in a context, by
// "Kind/name".
func (c *Cluster) APIObjects(context string) map[string]map[string]any {
	c.t.Helper()
	objs := map[string]map[string]any{}
	b, err := os.ReadFile(filepath.Join(c.State, "kubectl", context+".json"))
	if err == nil {
		err = json.Unmarshal(b, &objs)
	}
	if err != nil && !os.IsNotExist(err) {
		c.t.Fatal(err)
	}
	return objs
}

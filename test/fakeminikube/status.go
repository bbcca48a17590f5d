package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// nodeStatus is an element of `minikube status -o json`.
type nodeStatus struct {
	Name       string
	Host       string
	Kubelet    string
	APIServer  string
	Kubeconfig string
	Worker     bool
}

// status prints minikube's JSON (an object for one node, an array for
// more) and exits with its bit mask: 1 host, 2 kubelet/apiserver down.
func status(c cmdline) int {
	if o := c.flag("o") + c.flag("output"); o != "json" {
		return fail("fakeminikube implements only `status -o json`")
	}
	p, err := loadProfile(c.profile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "🤷  %v\n", err)
		return 85 // minikube's exit code for a missing profile
	}
	var sts []nodeStatus
	code := 0
	for i, name := range p.machineNames() {
		n, err := loadNode(p.name, name)
		if err != nil {
			return fail("%v", err)
		}
		st := nodeStatus{Name: name, Host: "Stopped", Kubelet: "Stopped", APIServer: "Stopped", Kubeconfig: "Configured", Worker: i > 0}
		if i > 0 {
			st.APIServer, st.Kubeconfig = "Irrelevant", "Irrelevant"
		}
		if n.Running {
			st.Host = "Running"
			if i == 0 {
				st.APIServer = "Running"
			}
			tickSystemd(nodeRoot(p.name, name))
			state, _ := os.ReadFile(filepath.Join(nodeRoot(p.name, name), "run/fakenode/kubelet.state"))
			if strings.TrimSpace(string(state)) == "active" {
				st.Kubelet = "Running"
			}
		}
		if st.Host != "Running" {
			code |= 1
		}
		if st.Kubelet != "Running" || st.APIServer != "Running" && st.APIServer != "Irrelevant" {
			code |= 2
		}
		sts = append(sts, st)
	}
	var b []byte
	if len(sts) == 1 {
		b, _ = json.Marshal(sts[0])
	} else {
		b, _ = json.Marshal(sts)
	}
	fmt.Println(string(b))
	return code
}

// nodeList prints "NAME\tIP" per node.
func nodeList(c cmdline) int {
	p, err := loadProfile(c.profile)
	if err != nil {
		return fail("%v", err)
	}
	for i, name := range p.machineNames() {
		fmt.Printf("%s\t%s\n", name, nodeIP(i))
	}
	return 0
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The node images the fake knows: minikube's two (its nodes), and, for
// `fakenode create`, the other kubelet set-ups `gcrcred node install`
// meets: kubeadm (Debian and RPM packaging), kind, k3s, rke2, managed
// images whose kubelet already has a provider config (a YAML file, a JSON
// file, a directory), and one nothing knows.

const (
	rootOnlyPasswd = "root:x:0:0:root:/root:/bin/sh\n"
	rootOnlyGroup  = "root:x:0:\n"
	fakeKubelet    = "#!/bin/sh\necho fake kubelet >&2\n"
	// failingProvider is another vendor's plugin that has nothing for the
	// images the tests pull.
	failingProvider = "#!/bin/sh\necho no credentials here >&2\nexit 1\n"
)

const kubeletService = `[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`

// kubeadmDropIn is the kubeadm package's drop-in; extraArgs is the file it
// reads KUBELET_EXTRA_ARGS from.
func kubeadmDropIn(extraArgs string) string {
	return `# Note: This dropin only works with kubeadm and kubelet v1.11+
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
# This is a file that "kubeadm init" and "kubeadm join" generates at runtime, populating the KUBELET_KUBEADM_ARGS variable dynamically
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# This is a file that the user can use for overrides of the kubelet args as a last resort. Preferably, the user should use
# the .NodeRegistration.KubeletExtraArgs object in the configuration files instead. KUBELET_EXTRA_ARGS should be sourced from this file.
EnvironmentFile=-` + extraArgs + `
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`
}

const kubeadmFlags = `KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.10"
`

// kubeadmFiles are a kubeadm node's files from the Debian packages.
func kubeadmFiles(extra map[string]string) map[string]string {
	files := map[string]string{
		"lib/systemd/system/kubelet.service":                       kubeletService,
		"etc/systemd/system/kubelet.service.d/10-kubeadm.conf":     kubeadmDropIn("/etc/default/kubelet"),
		"var/lib/kubelet/kubeadm-flags.env":                        kubeadmFlags,
		"etc/default/kubelet":                                      "KUBELET_EXTRA_ARGS=\n",
		"usr/bin/kubelet":                                          fakeKubelet,
		"etc/kubernetes/kubelet.conf":                              "# kubeconfig\n",
		"etc/kubernetes/bootstrap-kubelet.conf":                    "# kubeconfig\n",
		"etc/kubernetes/manifests/.keep":                           "",
		"usr/libexec/kubernetes/kubelet-plugins/volume/exec/.keep": "",
	}
	for p, c := range extra {
		if c == "" && !strings.HasSuffix(p, ".keep") {
			delete(files, p)
			continue
		}
		files[p] = c
	}
	return files
}

func providerConfigYAML(name, match string) string {
	return `apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: ` + name + `
    matchImages:
      - "` + match + `"
    defaultCacheDuration: "12h"
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    args:
      - get-credentials
`
}

var flavors = map[string]flavorLayout{
	// The docker driver's kicbase image: Debian, a persistent root, the
	// docker user made with `adduser --ingroup docker`.
	"kicbase": {
		passwd:    "root:x:0:0:root:/root:/bin/sh\ndocker:x:1000:999::/home/docker:/bin/sh\n",
		group:     "root:x:0:\nsudo:x:27:docker\ndocker:x:999:docker\n",
		osRelease: "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n",
		dockerGID: 999, minikube: true, mainUnit: "kubelet", usrMerged: true, cgroups: "nested",
		dirs:  []string{"usr/local/bin", "usr/local/lib", "usr/local/sbin", "var/cache"},
		files: map[string]string{"usr/local/bin/entrypoint": "#!/bin/sh\nexec \"$@\"\n"},
	},
	// VM drivers' Buildroot ISO: busybox, no /usr/local, root file system in RAM.
	"buildroot": {
		passwd:    "root:x:0:0:root:/root:/bin/sh\ndocker:x:1000:1000:docker:/home/docker:/bin/sh\n",
		group:     "root:x:0:\nwheel:x:10:docker\ndocker:x:1000:\n",
		osRelease: "NAME=Buildroot\nVERSION=2023.02.9\nID=buildroot\n",
		dockerGID: 1000, minikube: true, mainUnit: "kubelet", cgroups: "hybrid",
	},
	// kubeadm from the Debian packages: KUBELET_EXTRA_ARGS= in /etc/default/kubelet.
	"kubeadm": {
		passwd: rootOnlyPasswd, group: rootOnlyGroup, osRelease: "ID=debian\n", mainUnit: "kubelet",
		dirs:  []string{"usr/local/bin", "usr/local/lib"},
		files: kubeadmFiles(nil),
	},
	// kubeadm from the RPM packages: units under /usr/lib, a quoted
	// KUBELET_EXTRA_ARGS with a flag of the user's in /etc/sysconfig/kubelet.
	"kubeadm-rpm": {
		passwd: rootOnlyPasswd, group: rootOnlyGroup, osRelease: "ID=\"rocky\"\n", mainUnit: "kubelet",
		dirs: []string{"usr/local/bin", "usr/local/lib"},
		files: kubeadmFiles(map[string]string{
			"lib/systemd/system/kubelet.service":                       "",
			"etc/systemd/system/kubelet.service.d/10-kubeadm.conf":     "",
			"etc/default/kubelet":                                      "",
			"usr/lib/systemd/system/kubelet.service":                   kubeletService,
			"usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf": kubeadmDropIn("/etc/sysconfig/kubelet"),
			"etc/sysconfig/kubelet":                                    "# Set by the admin\nKUBELET_EXTRA_ARGS=\"--node-labels=tier=test\"\n",
		}),
	},
	// kubeadm as `kubeadm init` leaves it where nobody wrote
	// /etc/default/kubelet: only kubeadm-flags.env.
	"kubeadm-flags-env": {
		passwd: rootOnlyPasswd, group: rootOnlyGroup, osRelease: "ID=ubuntu\n", mainUnit: "kubelet",
		files: kubeadmFiles(map[string]string{"etc/default/kubelet": ""}),
	},
	// kind's node image: kubeadm's drop-in, /kind, an unquoted extra arg.
	"kind": {
		passwd: rootOnlyPasswd, group: rootOnlyGroup, osRelease: "ID=debian\n", mainUnit: "kubelet", cgroups: "namespaced",
		dirs: []string{"usr/local/bin"},
		files: kubeadmFiles(map[string]string{
			"kind/version":                       "v1.37.2\n",
			"lib/systemd/system/kubelet.service": "",
			"etc/systemd/system/kubelet.service": kubeletService,
			"etc/default/kubelet":                "KUBELET_EXTRA_ARGS=--runtime-cgroups=/system.slice/containerd.service\n",
		}),
	},
	// k3s from get.k3s.io: one service, the kubelet inside it.
	"k3s": {
		passwd: rootOnlyPasswd, group: rootOnlyGroup, osRelease: "ID=ubuntu\n", mainUnit: "k3s",
		dirs: []string{"usr/local/bin", "etc/rancher/k3s"},
		files: map[string]string{
			"etc/systemd/system/k3s.service": "[Unit]\nDescription=Lightweight Kubernetes\n\n[Service]\nType=notify\nEnvironmentFile=-/etc/default/%N\nEnvironmentFile=-/etc/sysconfig/%N\nEnvironmentFile=-/etc/systemd/system/k3s.service.env\nExecStart=/usr/local/bin/k3s \\\n    server \\\n\nRestart=always\n\n[Install]\nWantedBy=multi-user.target\n",
			"usr/local/bin/k3s":              "#!/bin/sh\necho fake k3s >&2\n",
			// What k3s unpacks and re-executes itself as (k3s-server).
			"var/lib/rancher/k3s/data/0123abcd/bin/k3s": "#!/bin/sh\necho fake k3s >&2\n",
		},
	},
	// rke2 from its tarball: the agent, its kubelet a process of its own,
	// a config.yaml of the admin's.
	"rke2": {
		passwd: rootOnlyPasswd, group: rootOnlyGroup, osRelease: "ID=\"sles\"\n", mainUnit: "rke2-agent",
		dirs: []string{"usr/local/bin", "etc/rancher/rke2"},
		files: map[string]string{
			"usr/local/lib/systemd/system/rke2-agent.service": "[Unit]\nDescription=Rancher Kubernetes Engine v2 (agent)\n\n[Service]\nType=notify\nEnvironmentFile=-/etc/default/%N\nExecStart=/usr/local/bin/rke2 agent\nRestart=always\n\n[Install]\nWantedBy=multi-user.target\n",
			"usr/local/bin/rke2":                              "#!/bin/sh\necho fake rke2 >&2\n",
			"etc/rancher/rke2/config.yaml":                    "server: https://10.0.0.1:9345\nnode-label:\n  - tier=test\n",
		},
	},
	// A GKE-like image: the kubelet's flags in KUBELET_OPTS, a YAML provider
	// config whose provider also matches gcr.io.
	"provider-config-yaml": {
		passwd: rootOnlyPasswd, group: rootOnlyGroup, osRelease: "ID=cos\n", mainUnit: "kubelet",
		files: map[string]string{
			"etc/systemd/system/kubelet.service":    "[Unit]\nDescription=Kubernetes kubelet\n\n[Service]\nEnvironmentFile=/etc/default/kubelet\nExecStart=/home/kubernetes/bin/kubelet $KUBELET_OPTS\nRestart=always\n\n[Install]\nWantedBy=multi-user.target\n",
			"etc/default/kubelet":                   "KUBELET_OPTS=\"--config=/var/lib/kubelet/config.yaml --image-credential-provider-config=/etc/srv/kubernetes/cri_auth_config.yaml --image-credential-provider-bin-dir=/home/kubernetes/bin\"\n",
			"home/kubernetes/bin/kubelet":           fakeKubelet,
			"home/kubernetes/bin/auth-provider-gcp": failingProvider,
			"etc/srv/kubernetes/cri_auth_config.yaml": `kind: CredentialProviderConfig
apiVersion: kubelet.config.k8s.io/v1
providers:
  - name: auth-provider-gcp
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    matchImages:
    - "container.cloud.google.com"
    - "gcr.io"
    - "*.gcr.io"
    - "*.pkg.dev"
    args:
    - get-credentials
    - --v=3
    defaultCacheDuration: 1m
`,
		},
	},
	// An EKS-like image: a JSON provider config for ECR.
	"provider-config-json": {
		passwd: rootOnlyPasswd, group: rootOnlyGroup, osRelease: "ID=\"amzn\"\n", mainUnit: "kubelet",
		files: map[string]string{
			"etc/systemd/system/kubelet.service":                        "[Unit]\nDescription=Kubernetes Kubelet\n\n[Service]\nEnvironmentFile=/etc/eks/kubelet/environment\nExecStart=/usr/bin/kubelet $NODEADM_KUBELET_ARGS\nRestart=on-failure\n\n[Install]\nWantedBy=multi-user.target\n",
			"etc/eks/kubelet/environment":                               "NODEADM_KUBELET_ARGS=\"--config=/var/lib/kubelet/config.yaml --image-credential-provider-config=/etc/eks/image-credential-provider/config.json --image-credential-provider-bin-dir=/etc/eks/image-credential-provider\"\n",
			"usr/bin/kubelet":                                           fakeKubelet,
			"etc/eks/image-credential-provider/ecr-credential-provider": failingProvider,
			"etc/eks/image-credential-provider/config.json": `{
  "apiVersion": "kubelet.config.k8s.io/v1",
  "kind": "CredentialProviderConfig",
  "providers": [
    {
      "name": "ecr-credential-provider",
      "matchImages": [
        "*.dkr.ecr.*.amazonaws.com"
      ],
      "defaultCacheDuration": "12h",
      "apiVersion": "credentialprovider.kubelet.k8s.io/v1"
    }
  ]
}
`,
		},
	},
	// kubeadm whose kubeletExtraArgs name a directory of provider configs.
	"provider-config-dir": {
		passwd: rootOnlyPasswd, group: rootOnlyGroup, osRelease: "ID=debian\n", mainUnit: "kubelet",
		files: kubeadmFiles(map[string]string{
			"var/lib/kubelet/kubeadm-flags.env":                                   "KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock --image-credential-provider-config=/etc/kubernetes/credential-providers --image-credential-provider-bin-dir=/usr/libexec/kubernetes/credential-providers\"\n",
			"etc/kubernetes/credential-providers/10-ecr.yaml":                     providerConfigYAML("ecr-credential-provider", "*.dkr.ecr.*.amazonaws.com"),
			"usr/libexec/kubernetes/credential-providers/ecr-credential-provider": failingProvider,
		}),
	},
	// A kubelet unit with its flags on the line and no environment, not
	// minikube's: nothing says where gcrcred's flags would go.
	"unsupported": {
		passwd: rootOnlyPasswd, group: rootOnlyGroup, osRelease: "ID=debian\n", mainUnit: "kubelet",
		files: map[string]string{
			"lib/systemd/system/kubelet.service": "[Service]\nExecStart=/usr/bin/kubelet --config=/var/lib/kubelet/config.yaml\n",
			"usr/bin/kubelet":                    fakeKubelet,
		},
	},
}

func flavorNames() []string {
	var names []string
	for n := range flavors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// fakenode is `fakenode create ROOT FLAVOR [ARCH]`: a standalone node root
// of a flavour, its main service started as the image would start it.
func fakenode(args []string) int {
	if len(args) < 3 || args[0] != "create" {
		fmt.Fprintf(os.Stderr, "usage: fakenode create ROOT FLAVOR [ARCH]   (flavors: %s)\n", strings.Join(flavorNames(), ", "))
		return 2
	}
	root, flavor, arch := args[1], args[2], "x86_64"
	if len(args) > 3 {
		arch = args[3]
	}
	n := &node{Name: "node", Flavor: flavor, Arch: arch}
	if err := ensureBase(root, n, defaultK8sVersion); err != nil {
		return fail("%v", err)
	}
	fl := flavors[flavor]
	if fl.minikube {
		if err := writeMinikubeUnits(root, defaultK8sVersion, n.Name, 0, nil); err != nil {
			return fail("%v", err)
		}
	}
	if err := startServices(root, fl.mainUnit); err != nil {
		return fail("%v", err)
	}
	return 0
}

// startServices does what systemd does at boot: load the units, start the
// main service; it fails if that does not come up.
func startServices(root, unit string) error {
	for _, args := range [][]string{{"daemon-reload"}, {"start", unit}} {
		out, err := inNode(root, rootIdentity, systemdEnv(), append([]string{"/usr/bin/systemctl"}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("systemctl %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	if state, _ := os.ReadFile(filepath.Join(root, "run/fakenode", unit+".state")); strings.TrimSpace(string(state)) != "active" {
		why, _ := os.ReadFile(filepath.Join(root, "run/fakenode", unit+".log"))
		return fmt.Errorf("K8S_KUBELET_NOT_RUNNING: %s did not start: %s", unit, strings.TrimSpace(string(why)))
	}
	return nil
}

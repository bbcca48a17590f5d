package main

import (
	"fmt"
	"github.com/gcrcred/gcrcred/internal/fileowner"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

const defaultK8sVersion = "v1.37.2"

// start creates the profile if it is new, then boots every node: as
// minikube, it replaces the saved extra-config when --extra-config is given.
func start(c cmdline) int {
	p, err := loadProfile(c.profile)
	if err != nil {
		version := c.flag("kubernetes-version")
		if version == "" {
			version = defaultK8sVersion
		}
		p = newProfile(c.profile, version)
		count := 1
		if v := c.flag("nodes"); v != "" {
			if count, err = strconv.Atoi(v); err != nil || count < 1 {
				return fail("invalid --nodes %q", v)
			}
		}
		for i := 0; i < count; i++ {
			p.addNodeRecord(i)
			flavor, arch := flavorFor(i)
			n := &node{Name: machineName(p.name, i), Index: i, Flavor: flavor, Arch: arch}
			if err := n.save(p.name); err != nil {
				return fail("%v", err)
			}
		}
	}
	if specs := c.flags["extra-config"]; len(specs) > 0 {
		if err := p.setExtraConfig(specs); err != nil {
			return fail("%v", err)
		}
	}
	if err := p.save(); err != nil {
		return fail("%v", err)
	}
	for _, name := range p.machineNames() {
		if err := boot(p, name); err != nil {
			return fail("Exiting due to GUEST_START: node %s: %v", name, err)
		}
	}
	fmt.Printf("Done! kubectl is now configured to use %q cluster\n", p.name)
	return 0
}

func stop(c cmdline) int {
	p, err := loadProfile(c.profile)
	if err != nil {
		return fail("%v", err)
	}
	for _, name := range p.machineNames() {
		n, err := loadNode(p.name, name)
		if err != nil {
			return fail("%v", err)
		}
		powerOff(nodeRoot(p.name, name))
		n.Running = false
		if err := n.save(p.name); err != nil {
			return fail("%v", err)
		}
	}
	fmt.Printf("%d node(s) stopped.\n", len(p.machineNames()))
	return 0
}

func nodeAdd(c cmdline) int {
	p, err := loadProfile(c.profile)
	if err != nil {
		return fail("%v", err)
	}
	i := len(p.machineNames())
	p.addNodeRecord(i)
	flavor, arch := flavorFor(i)
	n := &node{Name: machineName(p.name, i), Index: i, Flavor: flavor, Arch: arch}
	if err := n.save(p.name); err != nil {
		return fail("%v", err)
	}
	if err := p.save(); err != nil {
		return fail("%v", err)
	}
	if err := boot(p, n.Name); err != nil {
		return fail("Exiting due to GUEST_NODE_ADD: %v", err)
	}
	fmt.Printf("Successfully added %s to %s!\n", n.Name, p.name)
	return 0
}

// boot does what minikube does to a node at create and at each start: the
// root as the image has it (a Buildroot node's RAM root starts empty), file
// sync, minikube's kubelet unit and drop-in from the saved extra-config,
// then daemon-reload and the kubelet started through the node's systemctl.
func boot(p *profile, name string) error {
	n, err := loadNode(p.name, name)
	if err != nil {
		return err
	}
	root := nodeRoot(p.name, name)
	if n.Flavor == "buildroot" && n.Booted {
		if err := wipeRAM(root); err != nil {
			return err
		}
	}
	if err := ensureBase(root, n, p.k8sVersion()); err != nil {
		return err
	}
	if err := fileSync(root); err != nil {
		return fmt.Errorf("file sync: %w", err)
	}
	if err := writeMinikubeUnits(root, p.k8sVersion(), n.Name, n.Index, p.kubeletOptions()); err != nil {
		return err
	}
	if err := startServices(root, "kubelet"); err != nil {
		return err
	}
	n.Running, n.Booted = true, true
	return n.save(p.name)
}

// fileSync copies $MINIKUBE_HOME/.minikube/files/** to the node, keeping
// each file's mode (and, like the docker driver's `docker cp -a`, its
// owner); parent directories are made as root with mode 0755.
func fileSync(root string) error {
	src := filepath.Join(miniPath(), "files")
	if _, err := os.Stat(src); err != nil {
		return nil
	}
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		dst := filepath.Join(root, rel)
		if err := mkdirAllRoot(root, filepath.Dir(rel)); err != nil {
			return err
		}
		if err := copyFile(path, dst, fi.Mode().Perm()); err != nil {
			return err
		}
		uid, gid, _ := fileowner.Of(fi)
		return os.Chown(dst, uid, gid)
	})
}

// powerOff stops a node's kubelet as a shutdown does: no process, the
// unit inactive.
func powerOff(root string) {
	os.RemoveAll(filepath.Join(root, kubeletPIDDir))
	os.WriteFile(filepath.Join(root, "run/fakenode/kubelet.state"), []byte("inactive\n"), 0o644)
}

// mkdirAllRoot is `sudo mkdir -p`: missing directories 0755 root.
func mkdirAllRoot(root, rel string) error {
	if rel == "." || rel == "/" || rel == "" {
		return nil
	}
	if err := mkdirAllRoot(root, filepath.Dir(rel)); err != nil {
		return err
	}
	p := filepath.Join(root, rel)
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if err := os.Mkdir(p, 0o755); err != nil {
		return err
	}
	return os.Chmod(p, 0o755)
}

// writeMinikubeUnits renders minikube's kubelet.service and 10-kubeadm.conf
// (its templates): the flags are minikube's own merged with the saved
// kubelet extra-config, sorted by name as minikube sorts them.
func writeMinikubeUnits(root, k8sVersion, name string, index int, extra map[string]string) error {
	kubelet := "/var/lib/minikube/binaries/" + k8sVersion + "/kubelet"
	flags := map[string]string{
		"bootstrap-kubeconfig": "/etc/kubernetes/bootstrap-kubelet.conf",
		"config":               "/var/lib/kubelet/config.yaml",
		"hostname-override":    name,
		"kubeconfig":           "/etc/kubernetes/kubelet.conf",
		"node-ip":              nodeIP(index),
	}
	for k, v := range extra {
		flags[k] = v
	}
	var keys []string
	for k := range flags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var args []string
	for _, k := range keys {
		args = append(args, "--"+k+"="+flags[k])
	}
	service := "[Unit]\nDescription=kubelet: The Kubernetes Node Agent\nDocumentation=http://kubernetes.io/docs/\nStartLimitIntervalSec=0\n\n[Service]\nExecStart=" + kubelet +
		"\nRestart=always\n# Tuned for local dev: faster than upstream default (10s), but slower than systemd default (100ms)\nRestartSec=600ms\n\n[Install]\nWantedBy=multi-user.target\n"
	dropIn := "[Unit]\nWants=docker.socket\n\n[Service]\nExecStart=\nExecStart=" + kubelet + " " + strings.Join(args, " ") + "\n\n[Install]\n"
	if err := os.WriteFile(filepath.Join(root, "lib/systemd/system/kubelet.service"), []byte(service), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, "etc/systemd/system/kubelet.service.d/10-kubeadm.conf"), []byte(dropIn), 0o644)
}

package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// flavorLayout is how a node image looks where it matters to an installer.
type flavorLayout struct {
	passwd, group, osRelease string
	dockerGID                int  // the docker user's group (0: no docker user)
	minikube                 bool // minikube writes its kubelet unit and drop-in at each start
	mainUnit                 string
	usrMerged                bool              // /lib is a link to usr/lib (Debian 12)
	cgroups                  string            // how /proc shows cgroups (proc.go; "" unified)
	dirs                     []string          // beyond the common ones
	files                    map[string]string // path -> content (0755 if it starts with #!)
}

// persistentPaths survive a Buildroot reboot (its disk is mounted there);
// run/fakenode is the fake's own bookkeeping.
var persistentPaths = []string{
	"data", "var/lib/minikube", "var/lib/docker", "var/lib/containerd", "var/lib/kubelet",
	"var/lib/cni", "var/lib/boot2docker", "var/log", "var/tmp", "run/fakenode",
}

const kubeletPIDDir = "proc/4242" // where the running kubelet's cmdline is

// ensureBase lays out a node root as its image has it; what exists is left
// alone (a kicbase node keeps its changes across restarts).
func ensureBase(root string, n *node, k8sVersion string) error {
	fl, ok := flavors[n.Flavor]
	if !ok {
		return fmt.Errorf("unknown node flavor %q (want one of %s)", n.Flavor, strings.Join(flavorNames(), ", "))
	}
	if fl.usrMerged {
		if err := os.MkdirAll(filepath.Join(root, "usr/lib"), 0o755); err != nil {
			return err
		}
		if _, err := os.Lstat(filepath.Join(root, "lib")); errors.Is(err, fs.ErrNotExist) {
			if err := os.Symlink("usr/lib", filepath.Join(root, "lib")); err != nil {
				return err
			}
		}
	}
	dirs := append([]string{"bin", "sbin", "usr/bin", "usr/sbin", "usr/libexec/fakenode", "etc",
		"var/lib/kubelet", "var/log", "run/fakenode", "proc", "data"}, fl.dirs...)
	files := map[string]string{
		"etc/passwd":                  fl.passwd,
		"etc/group":                   fl.group,
		"etc/os-release":              fl.osRelease,
		"etc/hostname":                n.Name + "\n",
		"var/lib/kubelet/config.yaml": "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n",
		"run/fakenode/arch":           n.Arch + "\n",
		"run/fakenode/cgroup":         fl.cgroups + "\n",
	}
	if fl.minikube {
		dirs = append(dirs, "lib/systemd/system", "etc/systemd/system/kubelet.service.d", "etc/kubernetes",
			"var/lib/minikube/binaries/"+k8sVersion)
		files["etc/kubernetes/kubelet.conf"] = "# kubeconfig\n"
		files["etc/kubernetes/bootstrap-kubelet.conf"] = "# kubeconfig\n"
		files["var/lib/minikube/binaries/"+k8sVersion+"/kubelet"] = "#!/bin/sh\necho fake kubelet >&2\n"
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	homes := []struct {
		path     string
		mode     fs.FileMode
		uid, gid int
	}{{"root", 0o700, 0, 0}, {"tmp", 0o777 | fs.ModeSticky, 0, 0}, {"var/tmp", 0o777 | fs.ModeSticky, 0, 0}, {"home", 0o755, 0, 0}}
	if fl.dockerGID != 0 {
		homes = append(homes, struct {
			path     string
			mode     fs.FileMode
			uid, gid int
		}{"home/docker", 0o755, 1000, fl.dockerGID})
	}
	for _, d := range homes {
		p := filepath.Join(root, d.path)
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			if err := os.Mkdir(p, 0o755); err != nil {
				return err
			}
			if err := os.Chown(p, d.uid, d.gid); err != nil {
				return err
			}
			if err := os.Chmod(p, d.mode); err != nil {
				return err
			}
		}
	}
	for p, c := range fl.files {
		files[p] = c
	}
	for p, c := range files {
		full := filepath.Join(root, p)
		if _, err := os.Lstat(full); err == nil {
			continue
		}
		mode := fs.FileMode(0o644)
		if strings.HasPrefix(c, "#!") {
			mode = 0o755
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(c), mode); err != nil {
			return err
		}
	}
	if err := makeDevNull(root); err != nil {
		return err
	}
	if err := installUserland(root); err != nil {
		return err
	}
	return installShims(root, fl.minikube)
}

// makeDevNull gives the node a /dev/null: a real device where the host
// allows mknod, else a world-writable file (good enough for redirections).
func makeDevNull(root string) error {
	dev := filepath.Join(root, "dev")
	if err := os.MkdirAll(dev, 0o755); err != nil {
		return err
	}
	null := filepath.Join(dev, "null")
	if _, err := os.Lstat(null); err == nil {
		return nil
	}
	if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3 /* makedev(1, 3) */); err == nil {
		return os.Chmod(null, 0o666)
	}
	if err := os.WriteFile(null, nil, 0o666); err != nil {
		return err
	}
	return os.Chmod(null, 0o666)
}

// installUserland puts the userland in (test/userland: a static shell
// and the utilities node commands use; a hard link where it can, a node
// root is made per test) and each utility at the path it says it lives at.
func installUserland(root string) error {
	src := userlandBinary()
	dst := filepath.Join(root, "bin/userland")
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	if err := linkOrCopy(src, dst, 0o755); err != nil {
		return fmt.Errorf("copying the node userland (FAKE_MINIKUBE_USERLAND, built from ./test/userland): %w", err)
	}
	out, err := exec.Command(src, "--list").Output()
	if err != nil {
		return fmt.Errorf("%s --list: %v", src, err)
	}
	for _, applet := range strings.Fields(string(out)) {
		p := filepath.Join(root, applet)
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		// A hard link where it can: creating an inode (a symbolic link) is
		// what makes a node root slow to build, and the userland goes by
		// argv[0].
		if os.Link(dst, p) == nil {
			continue
		}
		if err := os.Symlink("/bin/userland", p); err != nil {
			return err
		}
	}
	return nil
}

// userlandBinary is the static userland nodes are made from:
// $FAKE_MINIKUBE_USERLAND, else the userland beside this program.
func userlandBinary() string {
	if p := os.Getenv("FAKE_MINIKUBE_USERLAND"); p != "" {
		return p
	}
	self, err := os.Executable()
	if err != nil {
		return "userland"
	}
	return filepath.Join(filepath.Dir(self), "userland", "userland")
}

// installShims puts this binary in as systemctl and uname, and on a
// minikube node a copy of it as a setuid sudo (a copy: the setuid bit must
// not reach the rest) for `minikube ssh`'s docker user.
func installShims(root string, sudo bool) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	multi := filepath.Join(root, "usr/libexec/fakenode/fakeminikube")
	if err := linkOrCopy(self, multi, 0o755); err != nil {
		return err
	}
	// Hard links (or copies), not symbolic links: gcrcred runs the node's
	// systemctl as root only if it is a regular file root alone can change.
	for _, link := range []string{"usr/bin/systemctl", "bin/uname"} {
		if err := linkOrCopy(multi, filepath.Join(root, link), 0o755); err != nil { // replaces the userland's uname
			return err
		}
	}
	if !sudo {
		return nil
	}
	sudoPath := filepath.Join(root, "usr/bin/sudo")
	if err := copyFile(self, sudoPath, 0o755); err != nil {
		return err
	}
	return os.Chmod(sudoPath, 0o755|fs.ModeSetuid)
}

// linkOrCopy hard-links src at dst, or copies it where it cannot.
func linkOrCopy(src, dst string, mode fs.FileMode) error {
	os.Remove(dst)
	if os.Link(src, dst) == nil {
		return nil
	}
	return copyFile(src, dst, mode)
}

// wipeRAM empties a Buildroot node's root but for what lives on its disk.
func wipeRAM(root string) error {
	return prune(root, "")
}

func prune(root, rel string) error {
	entries, err := os.ReadDir(filepath.Join(root, rel))
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(rel, e.Name())
		switch keep(p) {
		case "all":
		case "some":
			if err := prune(root, p); err != nil {
				return err
			}
		default:
			if err := os.RemoveAll(filepath.Join(root, p)); err != nil {
				return err
			}
		}
	}
	return nil
}

// keep says whether rel is persistent ("all"), holds something persistent
// ("some"), or goes ("").
func keep(rel string) string {
	for _, p := range persistentPaths {
		if rel == p || strings.HasPrefix(rel, p+"/") {
			return "all"
		}
		if strings.HasPrefix(p, rel+"/") {
			return "some"
		}
	}
	return ""
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".fake-tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

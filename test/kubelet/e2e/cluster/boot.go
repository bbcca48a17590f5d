package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Where the runner finds what the host brought into the node.
const (
	nodeDir     = "/run/gcrcred-e2e"
	nodeScratch = nodeDir + "/scratch" // the host's scratch directory
	nodeBin     = nodeDir + "/bin"     // scratch/bin: this program, gcrcred and its image, pause, app
	nodeK8s     = nodeDir + "/k8s"     // the built Kubernetes programs and control-plane images, read-only
	nodeRepo    = nodeDir + "/repo"    // the repository (deploy/), read-only
)

// shieldedSysctls are the kernel settings the kubelet sets at start
// (protectKernelDefaults: false). They are the machine's, so the node's
// /proc/sys is read-only but for these files, each covered by a scratch
// file holding the current value, which the kubelet then rewrites.
var shieldedSysctls = []string{
	"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
	"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes",
}

// MaybeRunInit must be the first thing the program does (TestMain): in the
// node's init it sets up the node and executes systemd, and never returns;
// elsewhere it returns at once.
func MaybeRunInit() {
	if os.Getenv(stageEnv) != "init" {
		return
	}
	// Namespaces joined by unshare and the capability bounding set belong
	// to a thread: everything, up to executing systemd, happens on this one.
	runtime.LockOSThread()
	err := bootNode()
	fmt.Fprintf(os.Stderr, "e2e node init: %v\n", err)
	os.Exit(1)
}

// bootNode makes the node the way a container runtime makes a systemd
// container, then executes Debian's systemd as its PID 1. It returns only
// on failure.
func bootNode() error {
	cfg, err := ConfigFromEnv()
	if err != nil {
		return err
	}
	hier, err := cgroupHierarchies()
	if err != nil {
		return err
	}
	// Join the run's cgroup and make it the root of a cgroup namespace:
	// systemd sees itself at "/", puts its units at /system.slice/UNIT, and
	// whatever it, the kubelet and runc make stays under the run's cgroup.
	for _, h := range hier {
		if err := os.WriteFile(filepath.Join(h.point, cfg.Cgroup, "cgroup.procs"), []byte("0"), 0); err != nil {
			return fmt.Errorf("joining cgroup %s/%s: %w", h.point, cfg.Cgroup, err)
		}
	}
	if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
		return fmt.Errorf("cgroup namespace: %w", err)
	}
	// From here on nothing mounted is seen by the machine.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making / private: %w", err)
	}
	root, err := mountRoot(cfg.Scratch)
	if err != nil {
		return err
	}
	steps := []func() error{
		func() error { return writeNodeFiles(root, cfg) },
		func() error { return mountDev(root) },
		func() error { return mountSys(root, hier) },
		func() error { return mountProc(root, cfg.Scratch) },
		func() error { return mountNodeDirs(root, cfg) },
		func() error { return setupNetwork(cfg) },
		func() error { return pivotRoot(root) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	// Nothing in the node loads kernel modules or sets the clock: both
	// would change the machine.
	for _, c := range []uintptr{unix.CAP_SYS_MODULE, unix.CAP_SYS_TIME} {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, c, 0, 0, 0); err != nil {
			return fmt.Errorf("dropping capability %d: %w", c, err)
		}
	}
	console, err := os.OpenFile(nodeScratch+"/systemd-console.log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	null, err := os.Open("/dev/null")
	if err != nil {
		return err
	}
	for fd, f := range []*os.File{null, console, console} {
		if err := unix.Dup3(int(f.Fd()), fd, 0); err != nil {
			return err
		}
	}
	argv := []string{"/lib/systemd/systemd", "--system", "--unit=" + nodeTarget}
	return unix.Exec(argv[0], argv, []string{"container=gcrcred-e2e"})
}

// mountRoot mounts the node's root: an overlay over the machine's / whose
// upper layer is a tmpfs (it may not sit on the lower layer's file
// system), so every file the node changes is a change in that layer only.
func mountRoot(scratch string) (string, error) {
	w := filepath.Join(scratch, "node")
	if err := os.MkdirAll(w, 0o755); err != nil {
		return "", err
	}
	if err := unix.Mount("tmpfs", w, "tmpfs", 0, "mode=755"); err != nil {
		return "", fmt.Errorf("tmpfs for the node's upper layer: %w", err)
	}
	for _, d := range []string{"upper", "work", "root"} {
		if err := os.Mkdir(filepath.Join(w, d), 0o755); err != nil {
			return "", err
		}
	}
	root := filepath.Join(w, "root")
	opts := fmt.Sprintf("lowerdir=/,upperdir=%s/upper,workdir=%s/work", w, w)
	if err := unix.Mount("overlay", root, "overlay", 0, opts); err != nil {
		return "", fmt.Errorf("the node's root (overlay on /): %w", err)
	}
	return root, nil
}

// mountDev gives the node a /dev of its own with the usual devices: the
// machine's /dev is one file system with the node's, so anything systemd
// made there (/dev/log, mount points) would be the machine's. The console
// is a null device.
func mountDev(root string) error {
	dev := root + "/dev"
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID, "mode=755"); err != nil {
		return fmt.Errorf("/dev: %w", err)
	}
	for _, d := range []struct {
		name     string
		maj, min uint32
		perm     uint32
	}{{"null", 1, 3, 0o666}, {"zero", 1, 5, 0o666}, {"full", 1, 7, 0o666}, {"random", 1, 8, 0o666},
		{"urandom", 1, 9, 0o666}, {"tty", 5, 0, 0o666}, {"kmsg", 1, 11, 0o600}, {"console", 1, 3, 0o600}} {
		p := dev + "/" + d.name
		if err := unix.Mknod(p, unix.S_IFCHR|d.perm, int(unix.Mkdev(d.maj, d.min))); err != nil {
			return fmt.Errorf("mknod %s: %w", p, err)
		}
		if err := os.Chmod(p, os.FileMode(d.perm)); err != nil {
			return err
		}
	}
	for _, d := range []string{"pts", "shm"} {
		if err := os.Mkdir(dev+"/"+d, 0o755); err != nil {
			return err
		}
	}
	if err := unix.Mount("devpts", dev+"/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5"); err != nil {
		return fmt.Errorf("/dev/pts: %w", err)
	}
	if err := unix.Mount("tmpfs", dev+"/shm", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
		return fmt.Errorf("/dev/shm: %w", err)
	}
	for link, target := range map[string]string{"ptmx": "pts/ptmx", "fd": "/proc/self/fd",
		"stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		if err := os.Symlink(target, dev+"/"+link); err != nil {
			return err
		}
	}
	return nil
}

// mountSys mounts a read-only sysfs (the node's network namespace's) and,
// on a tmpfs at /sys/fs/cgroup, the machine's cgroup hierarchies as seen
// from the node's cgroup namespace. The tmpfs is then made read-only, so
// systemd mounts no hierarchy the machine has not (one that outlived the
// node would keep the cgroups made in it).
func mountSys(root string, hier []mountEntry) error {
	sys := root + "/sys"
	const nodevs = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	if err := unix.Mount("sysfs", sys, "sysfs", unix.MS_RDONLY|nodevs, ""); err != nil {
		return fmt.Errorf("/sys: %w", err)
	}
	cg := sys + "/fs/cgroup"
	unified := len(hier) == 1 && hier[0].point == "/sys/fs/cgroup"
	if !unified {
		if err := unix.Mount("tmpfs", cg, "tmpfs", nodevs, "mode=755"); err != nil {
			return fmt.Errorf("/sys/fs/cgroup: %w", err)
		}
	}
	for _, h := range hier {
		dst := cg + strings.TrimPrefix(h.point, "/sys/fs/cgroup")
		var opts []string // the hierarchy's controllers or name; rw and the like go as flags
		for _, o := range strings.Split(h.super, ",") {
			if h.fs == "cgroup" && o != "rw" && o != "ro" {
				opts = append(opts, o)
			}
		}
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return err
		}
		if err := unix.Mount("cgroup", dst, h.fs, nodevs, strings.Join(opts, ",")); err != nil {
			return fmt.Errorf("mounting %s (%s %s): %w", dst, h.fs, h.super, err)
		}
	}
	if !unified {
		if err := unix.Mount("tmpfs", cg, "", unix.MS_REMOUNT|unix.MS_RDONLY|nodevs, "mode=755"); err != nil {
			return fmt.Errorf("/sys/fs/cgroup read-only: %w", err)
		}
	}
	return nil
}

// mountProc mounts the node's /proc, with /proc/sys read-only but for the
// shielded sysctls.
func mountProc(root, scratch string) error {
	proc := root + "/proc"
	if err := unix.Mount("proc", proc, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("/proc: %w", err)
	}
	if err := bindMount(proc+"/sys", proc+"/sys", true); err != nil {
		return err
	}
	for _, s := range shieldedSysctls {
		cur, err := os.ReadFile("/proc/sys/" + s)
		if err != nil {
			return err
		}
		shadow := filepath.Join(scratch, "sysctl", strings.ReplaceAll(s, "/", "."))
		if err := writeFile(shadow, cur, 0o644); err != nil {
			return err
		}
		if err := bindMount(shadow, proc+"/sys/"+s, false); err != nil {
			return err
		}
	}
	return nil
}

// mountNodeDirs mounts /run and /tmp (tmpfs, as systemd expects), the
// host's directories at nodeDir, containerd's root (a plain directory of
// scratch: its overlayfs snapshots cannot sit on an overlay) and the
// Kubernetes programs where the Kubernetes packages put them.
func mountNodeDirs(root string, cfg Config) error {
	for dir, mode := range map[string]string{"/run": "mode=755", "/tmp": "mode=1777"} {
		if err := unix.Mount("tmpfs", root+dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, mode); err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
	}
	if err := os.MkdirAll(cfg.Scratch+"/containerd", 0o711); err != nil {
		return err
	}
	binds := []struct {
		src, dst string
		ro       bool
	}{
		{cfg.Scratch, nodeScratch, false},
		{cfg.Scratch + "/bin", nodeBin, false},
		{cfg.Bin.K8s, nodeK8s, true},
		{cfg.Repo, nodeRepo, true},
		{cfg.Scratch + "/containerd", "/var/lib/containerd", false},
	}
	for _, name := range []string{"kubelet", "kubeadm", "kubectl"} {
		binds = append(binds, struct {
			src, dst string
			ro       bool
		}{filepath.Join(cfg.Bin.K8s, name), "/usr/bin/" + name, true})
	}
	for _, b := range binds {
		fi, err := os.Stat(b.src)
		if err != nil {
			return err
		}
		if fi.IsDir() {
			err = os.MkdirAll(root+b.dst, 0o755)
		} else {
			err = writeFile(root+b.dst, nil, 0o755)
		}
		if err != nil {
			return err
		}
		if err := bindMount(b.src, root+b.dst, b.ro); err != nil {
			return err
		}
	}
	return nil
}

// setupNetwork names the node and puts its address on "lo": the kubelet
// refuses a loopback --node-ip, so the node's InternalIP is a TEST-NET-1
// address on the loopback device of a network namespace that has no other
// device. No packet leaves the machine.
func setupNetwork(cfg Config) error {
	if err := unix.Sethostname([]byte(cfg.NodeName)); err != nil {
		return err
	}
	for _, args := range [][]string{{"link", "set", "lo", "up"}, {"addr", "add", cfg.NodeIP + "/32", "dev", "lo"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s (is iproute2 installed?)", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// pivotRoot makes root the root of the mount namespace and lets the
// machine's root go (pivot_root(2)'s "." "." idiom).
func pivotRoot(root string) error {
	if err := os.Chdir(root); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the machine's root: %w", err)
	}
	return os.Chdir("/")
}

func bindMount(src, dst string, readOnly bool) error {
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil { // not recursive: scratch holds the node's own root
		return fmt.Errorf("bind-mounting %s on %s: %w", src, dst, err)
	}
	if readOnly {
		if err := unix.Mount("", dst, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("making %s read-only: %w", dst, err)
		}
	}
	return nil
}

// writeFile writes data to path, creating its directory.
func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		return err
	}
	return os.Chmod(path, mode)
}

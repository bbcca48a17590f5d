package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// insideScratch is where the scratch directory is bind-mounted in the node,
// so that it stays reachable whichever host directory it lives in (even
// under one of the overlaid directories, such as /tmp).
const insideScratch = "/run/gcrcred-e2e/scratch"

// overlaid are the directories of the node's root whose writes land in
// scratch: everything a node installer, the kubelet, containerd or a pod with
// the host's / mounted may write. The rest of the machine's tree (/usr, /bin,
// the Go caches under /root are read through the overlay) is read as is.
var overlaid = []string{"/etc", "/usr/local", "/opt", "/var", "/root", "/home", "/srv", "/tmp"}

// shieldedSysctls are the kernel settings the kubelet sets at start
// (protectKernelDefaults: false). Machine-wide, so each is replaced in the
// node's /proc by a bind-mounted scratch file holding the current value:
// the kubelet reads and writes that file and the machine keeps its settings.
var shieldedSysctls = []string{
	"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
	"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes",
}

// bootstrapNamespaces runs first in the namespace init (PID 1 of the node's
// new mount, PID, network, UTS and IPC namespaces): it cuts mount
// propagation to the machine (nothing mounted from now on is seen outside),
// mounts a /proc of the new PID namespace, names the host and brings up the
// loopback device with the node's address. The kubelet refuses a loopback
// --node-ip, so the node's address is a TEST-NET-1 address on "lo" of a
// network namespace that has no other device: every packet stays on this
// machine, and nothing in the cluster can reach any other address.
func bootstrapNamespaces(hostname, nodeIP string) error {
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making / private: %w", err)
	}
	if err := syscall.Mount("proc", "/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	if err := syscall.Sethostname([]byte(hostname)); err != nil {
		return fmt.Errorf("sethostname: %w", err)
	}
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"addr", "add", nodeIP + "/32", "dev", "lo"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s (is iproute2 installed?)", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// setupNodeRoot makes the node's root: /run is a fresh tmpfs (as on any
// systemd machine) holding the scratch directory, and each overlaid
// directory gets an overlay whose upper layer is in scratch. containerd's
// root is a plain directory of scratch: its overlayfs snapshotter cannot
// put its layers on an overlay.
func (c *Cluster) setupNodeRoot() error {
	before, err := readMountinfo()
	if err != nil {
		return err
	}
	c.mountsBefore = map[int]bool{}
	for _, m := range before {
		c.mountsBefore[m.id] = true
	}
	hostScratch := c.cfg.Scratch
	if err := syscall.Mount("tmpfs", "/run", "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "mode=755"); err != nil {
		return fmt.Errorf("mounting /run: %w", err)
	}
	if err := os.MkdirAll(insideScratch, 0o700); err != nil {
		return err
	}
	if err := syscall.Mount(hostScratch, insideScratch, "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mounting scratch: %w", err)
	}
	c.scratch = insideScratch
	for _, dir := range overlaid {
		if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
			continue // absent, or a symlink into another overlaid directory
		}
		name := strings.ReplaceAll(strings.TrimPrefix(dir, "/"), "/", "-")
		upper, work := c.path("upper", name), c.path("work", name)
		for _, d := range []string{upper, work} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", dir, upper, work)
		if err := syscall.Mount("overlay", dir, "overlay", 0, opts); err != nil {
			return fmt.Errorf("overlay on %s: %w", dir, err)
		}
	}
	if err := bindDir(c.path("containerd"), "/var/lib/containerd"); err != nil {
		return err
	}
	for _, s := range shieldedSysctls {
		proc := "/proc/sys/" + s
		cur, err := os.ReadFile(proc)
		if err != nil {
			return err
		}
		shadow := c.path("sysctl", strings.ReplaceAll(s, "/", "."))
		if err := writeFile(shadow, cur, 0o644); err != nil {
			return err
		}
		if err := syscall.Mount(shadow, proc, "", syscall.MS_BIND, ""); err != nil {
			return fmt.Errorf("shielding %s: %w", proc, err)
		}
	}
	// The node stage started in the host's working directory, which the
	// overlays do not cover: a relative path written from now on (kubectl's
	// cache without a HOME, say) would land on the machine.
	if err := os.Chdir("/"); err != nil {
		return err
	}
	hosts, _ := os.ReadFile("/etc/hosts")
	hosts = fmt.Appendf(hosts, "%s %s\n", c.cfg.NodeIP, c.cfg.NodeName)
	return writeFile("/etc/hosts", hosts, 0o644)
}

func bindDir(src, dst string) error {
	for _, d := range []string{src, dst} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := syscall.Mount(src, dst, "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mounting %s on %s: %w", src, dst, err)
	}
	return nil
}

// path is a path under the scratch directory.
func (c *Cluster) path(elem ...string) string {
	return filepath.Join(append([]string{c.scratch}, elem...)...)
}

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry struct {
	id    int
	point string
	fs    string
}

func readMountinfo() ([]mountEntry, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []mountEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		id, _ := strconv.Atoi(fields[0])
		e := mountEntry{id: id, point: unescapeMount(fields[4])}
		for i, f := range fields {
			if f == "-" && i+1 < len(fields) {
				e.fs = fields[i+1]
			}
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unmountAll unmounts every mount made since setupNodeRoot began (by the
// harness, the kubelet, containerd and the pods), deepest first, so that
// nothing is left holding scratch. They would go with the mount namespace
// anyway; doing it here shows what was still busy. What is still busy after
// 20 seconds is detached.
func (c *Cluster) unmountAll(ctx context.Context) error {
	if c.mountsBefore == nil {
		return nil
	}
	pass := func(flags int) (left []string, err error) {
		entries, err := readMountinfo()
		if err != nil {
			return nil, err
		}
		var todo []mountEntry
		for _, e := range entries {
			if !c.mountsBefore[e.id] {
				todo = append(todo, e)
			}
		}
		sort.SliceStable(todo, func(i, j int) bool {
			di, dj := strings.Count(todo[i].point, "/"), strings.Count(todo[j].point, "/")
			if di != dj {
				return di > dj
			}
			return todo[i].id > todo[j].id
		})
		for _, e := range todo {
			if err := syscall.Unmount(e.point, flags); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, fs.ErrNotExist) {
				left = append(left, fmt.Sprintf("%s (%s): %v", e.point, e.fs, err))
			}
		}
		return left, nil
	}
	err := poll(ctx, 20*time.Second, "the node's mounts to go", func(context.Context) (bool, error) {
		left, err := pass(0)
		if err != nil {
			return false, fatal(err)
		}
		if len(left) > 0 {
			return false, errors.New(strings.Join(left, "; "))
		}
		return true, nil
	})
	if err == nil {
		return nil
	}
	left, derr := pass(syscall.MNT_DETACH)
	if derr != nil || len(left) > 0 {
		return fmt.Errorf("%v; detaching: %v %s", err, derr, strings.Join(left, "; "))
	}
	return fmt.Errorf("%w (detached)", err)
}

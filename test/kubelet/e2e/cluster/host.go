package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The harness runs as three programs, all this test binary:
//
//	host:   builds, makes the scratch directory and the run's cgroup, boots the node, cleans up
//	init:   PID 1 of the node's new namespaces; makes the node's root, then becomes systemd (boot.go)
//	runner: entered into the node's namespaces (nsenter); starts the cluster, runs the scenarios
const (
	stageEnv  = "GCRCRED_E2E_STAGE" // "init" or "node"
	configEnv = "GCRCRED_E2E_CONFIG"
)

// Inside reports whether this process is the runner inside the node.
func Inside() bool { return os.Getenv(stageEnv) == "node" }

// ConfigFromEnv is the Config the host gave this stage.
func ConfigFromEnv() (Config, error) {
	var cfg Config
	if err := json.Unmarshal([]byte(os.Getenv(configEnv)), &cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w", configEnv, err)
	}
	return cfg.WithDefaults(), nil
}

// Host is a node seen from the machine: its scratch directory and cgroup,
// made before it boots and removed after it has gone, and its systemd.
type Host struct {
	Scratch string
	Cgroup  string // a cgroup of this run's own in every hierarchy: the node's cgroup namespace root
	systemd *exec.Cmd
	exited  chan struct{}
}

// NewHost removes what earlier runs that died left behind, then makes a
// scratch directory (under $GCRCRED_E2E_SCRATCH or the temp directory) and
// the run's cgroup.
func NewHost() (*Host, error) {
	base := os.Getenv("GCRCRED_E2E_SCRATCH")
	if base == "" {
		base = os.TempDir()
	}
	removeStale(base)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(base, fmt.Sprintf("gcrcred-e2e-%d-", os.Getpid()))
	if err != nil {
		return nil, err
	}
	h := &Host{Scratch: dir, Cgroup: fmt.Sprintf("gcrcred-e2e-%d", os.Getpid())}
	return h, createCgroupRoot(h.Cgroup)
}

// RunNode boots the node, runs argv (this program again) in it as the
// runner, then powers the node off. ctx's end sends the runner SIGTERM.
func (h *Host) RunNode(ctx context.Context, cfg Config, argv []string) error {
	cfg = cfg.WithDefaults()
	cfg.Scratch, cfg.Cgroup = h.Scratch, h.Cgroup
	if err := h.boot(cfg); err != nil {
		return errors.Join(err, h.powerOff())
	}
	// The runner sees the node's paths (boot.go puts them there).
	inNode := cfg
	inNode.Scratch = nodeScratch
	inNode.Bin = Binaries{K8s: nodeK8s, Version: cfg.Bin.Version, Tools: nodeBin, Gcrcred: nodeBin + "/gcrcred"}
	if cfg.Bin.Helm != "" {
		inNode.Bin.Helm = nodeBin + "/helm"
	}
	inNode.Image, inNode.Repo = nodeBin+"/gcrcred-image.tar", nodeRepo
	b, err := json.Marshal(inNode)
	if err != nil {
		return err
	}
	args := []string{"--target", strconv.Itoa(h.systemd.Process.Pid),
		"--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup", "--", nodeBin + "/" + filepath.Base(argv[0])}
	cmd := exec.CommandContext(ctx, "nsenter", append(args, argv[1:]...)...)
	cmd.Env = setEnv(setEnv(os.Environ(), stageEnv, "node"), configEnv, string(b))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	runErr := cmd.Run()
	if runErr != nil {
		runErr = fmt.Errorf("the runner in the node: %w", runErr)
	}
	return errors.Join(runErr, h.powerOff())
}

// boot copies the programs the node needs into scratch/bin and starts the
// init: this program as PID 1 of new mount, PID, network, UTS and IPC
// namespaces, which becomes systemd (boot.go). It returns once it has.
func (h *Host) boot(cfg Config) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	copies := map[string]string{self: "", cfg.Bin.Gcrcred: "gcrcred", cfg.Image: "gcrcred-image.tar",
		filepath.Join(cfg.Bin.Tools, "pause"): "", filepath.Join(cfg.Bin.Tools, "app"): ""}
	if cfg.Bin.Helm != "" {
		copies[cfg.Bin.Helm] = "helm"
	}
	for src, name := range copies {
		if name == "" {
			name = filepath.Base(src)
		}
		if err := copyFile(src, filepath.Join(h.Scratch, "bin", name)); err != nil {
			return err
		}
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	cmd := exec.Command(self)
	cmd.Env = setEnv(setEnv(os.Environ(), stageEnv, "init"), configEnv, string(b))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr // until systemd starts: then its console log
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWNET | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
		Pdeathsig:  syscall.SIGKILL, // the node dies with the host process
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the node: %w", err)
	}
	h.systemd, h.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(h.exited) }()
	comm := fmt.Sprintf("/proc/%d/comm", cmd.Process.Pid)
	return poll(context.Background(), time.Minute, "the node's init to become systemd", func(context.Context) (bool, error) {
		select {
		case <-h.exited:
			return false, fatal(fmt.Errorf("the node's init exited: %v", cmd.ProcessState))
		default:
		}
		b, err := os.ReadFile(comm)
		return strings.TrimSpace(string(b)) == "systemd", err
	})
}

// powerOff asks systemd to power off (SIGRTMIN+4, as `systemctl poweroff`
// does in a container): it stops every unit, kills what is left in the
// node's PID namespace and exits. After 2 minutes it is killed.
func (h *Host) powerOff() error {
	if h.systemd == nil {
		return nil
	}
	const sigRTMin = 34 // glibc's SIGRTMIN, which systemd's SIGRTMIN+4 counts from
	h.systemd.Process.Signal(syscall.Signal(sigRTMin + 4))
	select {
	case <-h.exited:
		return nil
	case <-time.After(2 * time.Minute):
		h.systemd.Process.Kill()
		<-h.exited
		return errors.New("the node's systemd did not power off within 2 minutes: killed")
	}
}

// Cleanup removes the run's cgroups and the scratch directory, refusing
// to remove a scratch directory with something mounted under it.
func (h *Host) Cleanup(ctx context.Context) error {
	var errs []error
	if err := removeCgroups(ctx, h.Cgroup); err != nil {
		errs = append(errs, err)
	}
	if os.Getenv("GCRCRED_E2E_KEEP") != "" {
		fmt.Printf("e2e: keeping %s (GCRCRED_E2E_KEEP)\n", h.Scratch)
	} else if err := removeScratch(h.Scratch); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func removeScratch(dir string) error {
	mounts, err := readMountinfo()
	if err != nil {
		return err
	}
	for _, m := range mounts {
		if m.point == dir || strings.HasPrefix(m.point, dir+"/") {
			return fmt.Errorf("not removing %s: %s is mounted on the machine", dir, m.point)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing scratch: %w", err)
	}
	return nil
}

// removeStale removes the scratch directories and cgroups of runs whose
// host process is gone (killed before it could clean up).
func removeStale(base string) {
	dead := func(name string) bool {
		f := strings.Split(strings.TrimPrefix(name, "gcrcred-e2e-"), "-")
		pid, err := strconv.Atoi(f[0])
		return err == nil && pid != os.Getpid() && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
	}
	dirs, _ := filepath.Glob(filepath.Join(base, "gcrcred-e2e-*"))
	for _, d := range dirs {
		if dead(filepath.Base(d)) {
			removeScratch(d)
		}
	}
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/gcrcred-e2e-*")
	more, _ := filepath.Glob("/sys/fs/cgroup/gcrcred-e2e-*")
	for _, r := range append(roots, more...) {
		if dead(filepath.Base(r)) {
			removeCgroups(context.Background(), filepath.Base(r))
		}
	}
}

// mountEntry is a line of /proc/self/mountinfo: mount point, file system
// type, super options ("rw,cpu", "rw,name=systemd").
type mountEntry struct{ point, fs, super string }

func readMountinfo() ([]mountEntry, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out []mountEntry
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if i := slices.Index(f, "-"); i >= 5 && i+3 < len(f) {
			out = append(out, mountEntry{point: f[4], fs: f[i+1], super: f[i+3]})
		}
	}
	return out, nil
}

// cgroupHierarchies are the machine's cgroup file systems under /sys/fs/cgroup.
func cgroupHierarchies() ([]mountEntry, error) {
	mounts, err := readMountinfo()
	if err != nil {
		return nil, err
	}
	var out []mountEntry
	for _, m := range mounts {
		if (m.fs == "cgroup" || m.fs == "cgroup2") && strings.HasPrefix(m.point, "/sys/fs/cgroup") {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no cgroup file system under /sys/fs/cgroup")
	}
	return out, nil
}

// createCgroupRoot makes /NAME in every hierarchy. A new cgroup v1 cpuset has
// no CPUs and no memory nodes until told: it gets its parent's.
func createCgroupRoot(name string) error {
	hier, err := cgroupHierarchies()
	if err != nil {
		return err
	}
	for _, h := range hier {
		dir := filepath.Join(h.point, name)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("cgroup %s: %w", dir, err)
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if b, err := os.ReadFile(filepath.Join(h.point, f)); err == nil {
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
					return fmt.Errorf("cgroup %s/%s: %w", dir, f, err)
				}
			}
		}
	}
	return nil
}

// removeCgroups removes /NAME and everything under it (what systemd, the
// kubelet and runc made in the node) in every hierarchy, children first. A
// cgroup whose last task is still exiting cannot go yet, so it tries again
// until a deadline.
func removeCgroups(ctx context.Context, name string) error {
	if name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("bad cgroup name %q", name)
	}
	hier, err := cgroupHierarchies()
	if err != nil {
		return err
	}
	return poll(ctx, 30*time.Second, "cgroups /"+name+" to go", func(context.Context) (bool, error) {
		var left []string
		for _, h := range hier {
			var dirs []string
			filepath.WalkDir(filepath.Join(h.point, name), func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.IsDir() {
					dirs = append(dirs, p)
				}
				return nil
			})
			for i := len(dirs) - 1; i >= 0; i-- { // WalkDir lists parents before children
				if err := os.Remove(dirs[i]); err != nil && !errors.Is(err, fs.ErrNotExist) {
					left = append(left, dirs[i])
				}
			}
		}
		if len(left) > 0 {
			return false, fmt.Errorf("still there: %s", strings.Join(left, ", "))
		}
		return true, nil
	})
}

// setEnv returns env with KEY=value in place of any KEY=... it had.
func setEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}

// copyFile copies an executable (or any file), mode 0755, making its directory.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The harness runs three processes deep:
//
//	host:  builds, makes the scratch directory, starts the init, cleans up after it
//	init:  PID 1 of the node's new namespaces; sets them up, reaps orphans
//	node:  the same program again, with Inside() true: starts the cluster, runs the scenario
//
// Everything the cluster starts (containerd's shims and the pods' processes
// included) lives in the node's PID namespace, so when the init exits the
// kernel kills whatever is left: the harness can only ever touch processes
// it started.
const (
	stageEnv  = "GCRCRED_E2E_STAGE" // "init" or "node"
	configEnv = "GCRCRED_E2E_CONFIG"
)

// Inside reports whether this process is the harness inside the node.
func Inside() bool { return os.Getenv(stageEnv) == "node" }

// ConfigFromEnv is the Config the host gave the node (valid when Inside).
func ConfigFromEnv() (Config, error) {
	var cfg Config
	if err := json.Unmarshal([]byte(os.Getenv(configEnv)), &cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w", configEnv, err)
	}
	return cfg, nil
}

// MaybeRunInit must be the first thing the program does (TestMain, main):
// in the namespace init it runs the init and exits; elsewhere it returns.
func MaybeRunInit() {
	if os.Getenv(stageEnv) != "init" {
		return
	}
	os.Exit(runInit())
}

// runInit is PID 1 of the node: it sets up the namespaces, runs the node
// stage (this program again) and reaps every orphan until it exits, passing
// on SIGTERM and SIGINT. Its exit status is the node stage's.
func runInit() int {
	cfg, err := ConfigFromEnv()
	if err == nil {
		err = bootstrapNamespaces(cfg.NodeName, cfg.NodeIP)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e init: %v\n", err)
		return 1
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e init: %v\n", err)
		return 1
	}
	env := setEnv(os.Environ(), stageEnv, "node")
	pid, err := syscall.ForkExec(exe, os.Args, &syscall.ProcAttr{
		Dir:   mustGetwd(),
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e init: starting the node stage: %v\n", err)
		return 1
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for sig := range sigs {
			syscall.Kill(pid, sig.(syscall.Signal))
		}
	}()
	code := -1
	for {
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil { // ECHILD: nothing left
			break
		}
		if got == pid {
			code = ws.ExitStatus()
			if ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
			// Whatever the node stage left behind goes now.
			syscall.Kill(-1, syscall.SIGKILL)
		}
	}
	return code
}

// setEnv returns env with KEY=value in place of any KEY=... it had
// (syscall.ForkExec passes duplicates on, and getenv finds the first).
func setEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}

func mustGetwd() string {
	wd, err := os.Getwd()
	if err != nil {
		return "/"
	}
	return wd
}

// Host is the host side of a run: the scratch directory and the cgroup that
// the node uses, made before it starts and removed after it has gone.
type Host struct {
	Scratch string
	Cgroup  string
}

// NewHost removes what earlier runs that died left behind, then makes a
// scratch directory (under $GCRCRED_E2E_SCRATCH or the temp directory).
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
	return &Host{Scratch: dir, Cgroup: fmt.Sprintf("gcrcred-e2e-%d", os.Getpid())}, nil
}

// RunNode runs argv (normally this program again) as the node: PID 1 of new
// mount, PID, network, UTS and IPC namespaces. ctx's end sends it SIGTERM
// (and SIGKILL a minute later); the node also dies with this process.
func (h *Host) RunNode(ctx context.Context, cfg Config, argv []string) error {
	cfg = cfg.WithDefaults()
	cfg.Scratch, cfg.Cgroup = h.Scratch, h.Cgroup
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = setEnv(setEnv(os.Environ(), stageEnv, "init"), configEnv, string(b))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWNET | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
		Pdeathsig:  syscall.SIGKILL,
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("the node (%s): %w", argv[0], err)
	}
	return nil
}

// Cleanup removes the scratch directory and the cgroups. It refuses to
// remove a scratch directory that still has something mounted under it in
// this (the machine's) mount namespace.
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
	for _, r := range roots {
		if dead(filepath.Base(r)) {
			removeCgroups(context.Background(), filepath.Base(r))
		}
	}
}

package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/test/fakegcr"
	"github.com/gcrcred/gcrcred/test/fakegoogle"
)

// Config describes the node. The host fills in Scratch and Cgroup; the
// runner gets the paths as the node sees them (Host.RunNode).
type Config struct {
	Bin      Binaries
	NodeName string // the node's host name and Node object; default "e2e-node"
	NodeIP   string // its InternalIP, on "lo" of its own network namespace; default 192.0.2.10
	Scratch  string // the scratch directory
	Cgroup   string // the run's cgroup, root of the node's cgroup namespace

	// Image is the gcrcred container image under test: `make image`'s OCI
	// layout tarball. Repo is the repository (deploy/ holds the DaemonSet).
	Image string
	Repo  string

	Logf func(format string, args ...any) `json:"-"` // progress lines; default: discard
}

// WithDefaults fills in the defaults.
func (cfg Config) WithDefaults() Config {
	if cfg.NodeName == "" {
		cfg.NodeName = "e2e-node"
	}
	if cfg.NodeIP == "" {
		cfg.NodeIP = "192.0.2.10"
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return cfg
}

// Cluster is a running single-node cluster, seen from the runner inside the node.
type Cluster struct {
	cfg       Config
	tap       *secretTap
	pusherKey []byte // a key the fake registry accepts for pushes
	apiUp     bool   // the API server has answered: kubectl may be used

	// Google is the fake Google (token endpoint and the rest) on 127.0.0.1.
	Google *fakegoogle.Google
	// Registry is the fake registry behind RegistryHost; it holds AppImage,
	// which only Google credentials may pull.
	Registry *fakegcr.Registry
}

// Start brings the cluster up on the booted node: the fakes, containerd's
// images, kubeadm's PKI, kubeconfigs, static pods and kubelet, and waits
// for the node to be Ready. On error the returned Cluster is not nil: dump
// its logs, then Stop it.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if !Inside() {
		return nil, errors.New("cluster.Start runs inside the node: see Host.RunNode")
	}
	cfg = cfg.WithDefaults()
	c := &Cluster{cfg: cfg}
	steps := []struct {
		name string
		run  func() error
	}{
		{"systemd: boot finished", func() error { return c.waitBooted(ctx) }},
		{"fake Google and fake registry; " + AppImage + " pushed", func() error { return c.startFakes(ctx) }},
		{"containerd: pause and control-plane images imported", func() error { return c.importImages(ctx) }},
		{"kubeadm init phase certs, kubeconfig, etcd, control-plane, kubelet-start", func() error { return c.kubeadmInit(ctx) }},
		{"kube-apiserver ready; kubeadm init phase bootstrap-token; node Ready", func() error { return c.waitReady(ctx) }},
		{"cgroups: systemd's, as on a node", func() error { return c.checkCgroups(ctx) }},
	}
	for _, s := range steps {
		t := time.Now()
		if err := s.run(); err != nil {
			return c, fmt.Errorf("%s: %w", s.name, err)
		}
		cfg.Logf("%-76s %5.1fs", s.name, time.Since(t).Seconds())
	}
	return c, nil
}

// waitBooted waits for systemd to finish booting (running, or degraded
// with a failed unit, which is listed). Its socket comes up a moment after
// it starts.
func (c *Cluster) waitBooted(ctx context.Context) error {
	var state string
	if err := poll(ctx, 2*time.Minute, "systemd", func(ctx context.Context) (bool, error) {
		out, err := c.Systemctl(ctx, "is-system-running", "--wait")
		state = strings.TrimSpace(out)
		return err == nil || state == "degraded", err
	}); err != nil {
		return err
	}
	if state != "running" {
		failed, _ := c.Systemctl(ctx, "--failed", "--no-legend")
		return fmt.Errorf("systemctl is-system-running: %s; failed units: %s", state, failed)
	}
	return nil
}

// cgroupsPod prints PID 1's and the kubelet's cgroups from a pod in the
// node's PID namespace.
const cgroupsPod = `apiVersion: v1
kind: Pod
metadata:
  name: cgroups
  namespace: default
spec:
  hostPID: true
  hostNetwork: true
  restartPolicy: Never
  containers:
  - name: cat
    image: ` + localAppImage + `
    imagePullPolicy: Never
    args: [cat, /proc/1/cgroup, /proc/%d/cgroup]
`

// checkCgroups checks that the node looks like a systemd machine to a
// node installer, inside the node and from a pod with hostPID: PID 1 in
// /init.scope, the kubelet in /system.slice/kubelet.service.
func (c *Cluster) checkCgroups(ctx context.Context) error {
	pid, _, err := c.KubeletProcess(ctx)
	if err != nil {
		return err
	}
	inside, _ := os.ReadFile("/proc/1/cgroup")
	kubelet, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	c.cfg.Logf("in the node: /proc/1/cgroup: %s; /proc/%d/cgroup (kubelet): %s", oneLine(inside), pid, oneLine(kubelet))
	if err := poll(ctx, time.Minute, "pod default/cgroups to be created", func(ctx context.Context) (bool, error) {
		err := c.Apply(ctx, fmt.Sprintf(cgroupsPod, pid)) // refused until the service account "default" exists
		return err == nil, err
	}); err != nil {
		return err
	}
	var out string
	if err := poll(ctx, 2*time.Minute, "pod default/cgroups to print", func(ctx context.Context) (bool, error) {
		phase, err := c.Kubectl(ctx, "get", "pod", "cgroups", "-o", "jsonpath={.status.phase}")
		if err != nil || phase != "Succeeded" {
			return false, fmt.Errorf("pod cgroups: %s %v", phase, err)
		}
		out, err = c.Kubectl(ctx, "logs", "cgroups")
		return err == nil, err
	}); err != nil {
		return err
	}
	c.cfg.Logf("from a pod with hostPID: %s", oneLine([]byte(out)))
	if _, err := c.Kubectl(ctx, "delete", "pod", "cgroups", "--wait=false"); err != nil {
		return err
	}
	for _, want := range []string{"0::/init.scope\n", "name=systemd:/system.slice/kubelet.service\n"} {
		if !strings.Contains(out+"\n", want) {
			return fmt.Errorf("a pod sees no cgroup %q", strings.TrimSpace(want))
		}
	}
	return nil
}

func oneLine(b []byte) string { return strings.Join(strings.Fields(string(b)), " ") }

// NodeName is the node's name.
func (c *Cluster) NodeName() string { return c.cfg.NodeName }

// Config is the node's configuration, with its paths as the node sees them.
func (c *Cluster) Config() Config { return c.cfg }

// path is a path under the scratch directory.
func (c *Cluster) path(elem ...string) string {
	return filepath.Join(append([]string{c.cfg.Scratch}, elem...)...)
}

// nodeEnv is the environment of what the runner starts on the node: what
// systemd gives a system service, nothing from the harness.
func nodeEnv(extra ...string) []string {
	return append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}, extra...)
}

// Systemctl runs the node's systemctl (Debian's, talking to the node's systemd).
func (c *Cluster) Systemctl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "systemctl", args...)
	cmd.Env = nodeEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("systemctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// KubeletProcess is kubelet.service's main process: its pid and argv.
func (c *Cluster) KubeletProcess(ctx context.Context) (pid int, args []string, err error) {
	out, err := c.Systemctl(ctx, "show", "-p", "MainPID", "--value", "kubelet")
	if err != nil {
		return 0, nil, err
	}
	pid, err = strconv.Atoi(strings.TrimSpace(out))
	if err != nil || pid <= 0 {
		return 0, nil, fmt.Errorf("kubelet MainPID %q: not running", strings.TrimSpace(out))
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return 0, nil, err
	}
	return pid, strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"), nil
}

// Journal is the node's journal since it booted, of the given units (all if none).
func (c *Cluster) Journal(ctx context.Context, units ...string) (string, error) {
	args := []string{"--no-pager", "-b", "-o", "short-precise"}
	for _, u := range units {
		args = append(args, "-u", u)
	}
	cmd := exec.CommandContext(ctx, "journalctl", args...)
	cmd.Env = nodeEnv()
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("journalctl %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// Stop stops the fakes and, when GCRCRED_E2E_KEEP is set, saves the
// node's journal into scratch. Powering the node off (Host.RunNode) stops
// every unit and process of the node.
func (c *Cluster) Stop(ctx context.Context) error {
	if c.Registry != nil {
		c.Registry.Close()
	}
	if c.Google != nil {
		c.Google.Close()
	}
	if c.tap != nil {
		c.tap.close()
	}
	if os.Getenv("GCRCRED_E2E_KEEP") == "" {
		return nil
	}
	j, err := c.Journal(ctx)
	return errors.Join(err, os.WriteFile(c.path("journal.log"), []byte(j), 0o644))
}

package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gcrcred/gcrcred/internal/fakegcr"
	"github.com/gcrcred/gcrcred/internal/fakegoogle"
	"github.com/gcrcred/gcrcred/test/kubelet/e2e/unitapi"
)

// Config describes the node. Host.RunNode fills in Scratch and Cgroup and
// hands the whole of it to the node stage (ConfigFromEnv).
type Config struct {
	Bin      Binaries
	NodeName string // the node's host name and Node object; default "e2e-node"
	NodeIP   string // its InternalIP, on "lo" of its own network namespace; default 192.0.2.10
	Scratch  string // the host's scratch directory
	Cgroup   string // the kubelet's cgroupRoot, a cgroup of this run's own

	// Image is the gcrcred container image under test: `make image`'s OCI
	// layout tarball (ImportImageArchive imports it). Deploy is the
	// repository's deploy/ directory (the DaemonSet manifests).
	Image  string
	Deploy string

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

// Cluster is a running single-node cluster, seen from inside the node.
type Cluster struct {
	cfg          Config
	scratch      string
	mountsBefore map[int]bool
	cgroupMade   bool
	sup          *Supervisor
	cp           *controlPlane
	tap          *secretTap
	pusherKey    []byte // a key the fake registry accepts for pushes

	// Google is the fake Google (token endpoint and the rest) on 127.0.0.1.
	Google *fakegoogle.Google
	// Registry is the fake registry behind RegistryHost; it holds AppImage,
	// which only Google credentials may pull.
	Registry *fakegcr.Registry
}

// Start brings the node up inside the namespaces Host.RunNode made: its
// root, the PKI, the fakes, containerd, the control plane and the kubelet,
// and waits for the node to be Ready. On error the returned Cluster is not
// nil (unless not Inside): dump its logs, then Stop it.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if !Inside() {
		return nil, errors.New("cluster.Start runs inside the node: see Host.RunNode")
	}
	cfg = cfg.WithDefaults()
	c := &Cluster{cfg: cfg, scratch: cfg.Scratch}
	steps := []struct {
		name string
		run  func() error
	}{
		{"node root (overlays, /run, sysctl shields)", c.setupNodeRoot},
		{"cgroup root /" + cfg.Cgroup, func() error {
			c.cgroupMade = true
			return createCgroupRoot(cfg.Cgroup)
		}},
		{"systemctl, kubelet and kubectl in /usr/local/bin", c.installNodeTools},
		{"certificates and kubeconfigs", func() error { return writePKI(cfg.NodeName, net.ParseIP(cfg.NodeIP)) }},
		{"fake Google and fake registry; " + AppImage + " pushed", func() error { return c.startFakes(ctx) }},
		{"supervisor", func() error {
			s, err := newSupervisor(c.LogDir(), unitapi.Socket, systemUnitDirs)
			c.sup = s
			return err
		}},
		{"containerd, pause image imported", func() error { return c.startContainerd(ctx) }},
		{"etcd, kube-apiserver, kube-controller-manager, kube-scheduler", func() error { return c.startControlPlane(ctx) }},
		{"kubelet; node Ready", func() error { return c.startKubelet(ctx) }},
	}
	for i, s := range steps {
		if i == 1 { // the log directory exists once the node root does
			if err := os.MkdirAll(c.LogDir(), 0o755); err != nil {
				return c, err
			}
		}
		t := time.Now()
		if err := s.run(); err != nil {
			return c, fmt.Errorf("%s: %w", s.name, err)
		}
		cfg.Logf("%-70s %5.1fs", s.name, time.Since(t).Seconds())
	}
	return c, nil
}

// NodeName is the node's name.
func (c *Cluster) NodeName() string { return c.cfg.NodeName }

// LogDir holds every daemon's log (supervisor.log, kubelet.log, containerd.log...).
func (c *Cluster) LogDir() string { return c.path("logs") }

func (c *Cluster) logPath(name string) string { return filepath.Join(c.LogDir(), name+".log") }

// Supervisor is the node's stand-in for systemd.
func (c *Cluster) Supervisor() *Supervisor { return c.sup }

// Systemctl runs the node's systemctl command, as an installer on the node would.
func (c *Cluster) Systemctl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "/usr/local/bin/systemctl", args...)
	cmd.Env = nodeEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("systemctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// JWKS returns the service-account issuer's public keys, as a token
// verifier (a fake STS) needs them. The issuer is ServiceAccountIssuer.
func (c *Cluster) JWKS(ctx context.Context) (string, error) {
	return c.Kubectl(ctx, "get", "--raw", "/openid/v1/jwks")
}

// Stop stops everything the cluster started: the kubelet and containerd
// (through the supervisor), the control plane, the fakes, then any process
// left in the node's PID namespace (containerd's shims, the pods); then it
// unmounts everything mounted since Start, deepest first, and removes the
// cgroups. The host removes the scratch directory once the node has gone.
func (c *Cluster) Stop(ctx context.Context) error {
	var errs []error
	if c.sup != nil {
		c.sup.Close()
	}
	if c.cp != nil {
		c.cp.stop()
	}
	if c.Registry != nil {
		c.Registry.Close()
	}
	if c.Google != nil {
		c.Google.Close()
	}
	if c.tap != nil {
		c.tap.close()
	}
	if err := killStrays(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := c.unmountAll(ctx); err != nil {
		errs = append(errs, err)
	}
	if c.cgroupMade {
		if err := removeCgroups(ctx, c.cfg.Cgroup); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// killStrays kills every process of the node's PID namespace but the init
// and this one, and waits for them to go. Only processes the cluster
// started can be there.
func killStrays(ctx context.Context) error {
	self := os.Getpid()
	others := func() []int {
		var pids []int
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == 1 || pid == self {
				continue
			}
			if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
				if i := strings.LastIndexByte(string(st), ')'); i > 0 && strings.HasPrefix(string(st[i+1:]), " Z") {
					continue // a zombie: its parent (the init, or us) reaps it
				}
			}
			pids = append(pids, pid)
		}
		return pids
	}
	return poll(ctx, 20*time.Second, "the node's processes to exit", func(context.Context) (bool, error) {
		left := others()
		for _, pid := range left {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if len(left) > 0 {
			return false, fmt.Errorf("still running: %v", left)
		}
		return true, nil
	})
}

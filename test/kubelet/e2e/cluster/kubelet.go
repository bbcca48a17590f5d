package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// The kubelet is set up as kubeadm sets up a node: a unit plus kubeadm's
// drop-in, whose ExecStart passes $KUBELET_KUBEADM_ARGS (from
// /var/lib/kubelet/kubeadm-flags.env) and $KUBELET_EXTRA_ARGS (from
// /etc/default/kubelet), read at every (re)start.
const (
	kubeletUnit = `[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/

[Service]
ExecStart=/usr/local/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`
	kubeadmDropIn = `# As kubeadm writes it.
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/local/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`
	// A kubelet that exits (a missing provider config, say) comes back
	// after 2 s instead of kubeadm's 10 s, to keep the scenarios short.
	e2eDropIn = `[Service]
RestartSec=2
`
	// KubeletDefaultsFile is where KUBELET_EXTRA_ARGS lives (Debian's kubeadm packages).
	KubeletDefaultsFile = "/etc/default/kubelet"
	// KubeadmFlagsFile is where kubeadm puts KUBELET_KUBEADM_ARGS.
	KubeadmFlagsFile  = "/var/lib/kubelet/kubeadm-flags.env"
	kubeletConfigFile = "/var/lib/kubelet/config.yaml"
)

// kubeletConfig is /var/lib/kubelet/config.yaml. The odd settings:
//   - failCgroupV1: false, cgroupDriver: cgroupfs: the machines are cgroup v1
//     (hybrid) and have no systemd;
//   - cgroupRoot: this run's own cgroup (see cgroups.go);
//   - failSwapOn: false, in case the machine has swap;
//   - evictionHard at 1 %: a full-ish disk must not taint the node.
//
// protectKernelDefaults stays false: the kubelet "fixes" six kernel
// settings at start, and writes them into the shields of node.go.
func kubeletConfig(cgroupRoot string) string {
	return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: ` + caCertFile + `
authorization:
  mode: Webhook
cgroupDriver: cgroupfs
cgroupRoot: /` + cgroupRoot + `
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://` + containerdSocket + `
staticPodPath: /etc/kubernetes/manifests
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
rotateCertificates: false
clusterDomain: cluster.local
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
`
}

// installNodeTools puts the node's systemctl in /usr/local/bin and over the
// machine's own /usr/bin/systemctl if there is one (bind-mounted, in the
// node only), and links kubelet and kubectl into /usr/local/bin.
func (c *Cluster) installNodeTools() error {
	sysctl := "/usr/local/bin/systemctl"
	b, err := os.ReadFile(filepath.Join(c.cfg.Bin.Tools, "systemctl"))
	if err != nil {
		return err
	}
	if err := writeFile(sysctl, b, 0o755); err != nil {
		return err
	}
	var covered []os.FileInfo
	for _, other := range []string{"/usr/bin/systemctl", "/bin/systemctl", "/usr/sbin/systemctl", "/sbin/systemctl"} {
		fi, err := os.Stat(other)
		if err != nil || !fi.Mode().IsRegular() || slices.ContainsFunc(covered, func(c os.FileInfo) bool { return os.SameFile(c, fi) }) {
			continue // absent, or the same file through the /bin -> usr/bin link
		}
		covered = append(covered, fi)
		if err := syscall.Mount(sysctl, other, "", syscall.MS_BIND, ""); err != nil {
			return fmt.Errorf("covering %s: %w", other, err)
		}
	}
	for _, name := range []string{"kubelet", "kubectl"} {
		link := "/usr/local/bin/" + name
		os.Remove(link)
		if err := os.Symlink(filepath.Join(c.cfg.Bin.K8s, name), link); err != nil {
			return err
		}
	}
	return nil
}

// startKubelet writes the kubelet's unit, drop-ins, flags and configuration
// and starts it through the supervisor.
func (c *Cluster) startKubelet(ctx context.Context) error {
	files := []struct {
		path string
		data string
	}{
		{"/etc/systemd/system/kubelet.service", kubeletUnit},
		{"/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", kubeadmDropIn},
		{"/etc/systemd/system/kubelet.service.d/90-e2e.conf", e2eDropIn},
		{KubeadmFlagsFile, fmt.Sprintf("KUBELET_KUBEADM_ARGS=\"--node-ip=%s --v=2\"\n", c.cfg.NodeIP)},
		{KubeletDefaultsFile, "KUBELET_EXTRA_ARGS=\n"},
		{kubeletConfigFile, kubeletConfig(c.cfg.Cgroup)},
	}
	for _, f := range files {
		if err := writeFile(f.path, []byte(f.data), 0o644); err != nil {
			return err
		}
	}
	if err := os.MkdirAll("/etc/kubernetes/manifests", 0o755); err != nil {
		return err
	}
	if err := c.sup.Start("kubelet"); err != nil {
		return err
	}
	return c.WaitNodeReady(ctx, 3*time.Minute)
}

// WaitNodeReady waits for the node's Ready condition to be True.
func (c *Cluster) WaitNodeReady(ctx context.Context, timeout time.Duration) error {
	return poll(ctx, timeout, "node "+c.cfg.NodeName+" Ready", func(ctx context.Context) (bool, error) {
		out, err := c.Kubectl(ctx, "get", "node", c.cfg.NodeName, "-o",
			`jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].message}`)
		if err != nil {
			return false, err
		}
		if strings.HasPrefix(out, "True") {
			return true, nil
		}
		return false, fmt.Errorf("Ready=%s", out)
	})
}

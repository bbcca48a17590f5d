package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
)

// nodeTarget is what systemd boots to: containerd and nothing else of the
// machine's units (no getty, no timers, no database). kubeadm starts the
// kubelet.
const nodeTarget = "gcrcred-e2e-node.target"

const targetUnit = `[Unit]
Description=gcrcred e2e node
Wants=containerd.service
`

// managerConf: a throw-away node powers off in seconds, not after the
// API server's 90 s stop timeout.
const managerConf = `[Manager]
DefaultTimeoutStopSec=10s
`

// maskedUnits would change the machine, not the node: kernel settings,
// modules, binfmt handlers, the clock, device nodes, or the machine's
// devices through udev. (Most are also skipped because /sys and /proc/sys
// are read-only in the node.) Timers would run apt and fstrim.
var maskedUnits = []string{
	"systemd-sysctl.service", "systemd-modules-load.service", "systemd-binfmt.service",
	"systemd-timesyncd.service", "systemd-tmpfiles-setup-dev.service", "systemd-tmpfiles-setup-dev-early.service",
	"kmod-static-nodes.service", "systemd-udevd.service", "systemd-udev-trigger.service",
	"systemd-udev-settle.service", "systemd-remount-fs.service", "systemd-pstore.service", "timers.target",
}

// The kubelet's unit, the kubeadm package's drop-in and the kubelet
// package's /etc/default/kubelet, as the Kubernetes packages
// (kubernetes/release, deb) install them: /usr/lib/systemd/system/kubelet.service,
// kubelet.service.d/10-kubeadm.conf. ExecStart adds $KUBELET_KUBEADM_ARGS,
// which kubeadm writes, and $KUBELET_EXTRA_ARGS. As in the packages,
// kubelet.service is 0600: the DaemonSet's readiness probe (`gcrcred node
// status` as uid 65532) cannot read it, and checks the node against the
// set-up install recorded.
const (
	kubeletService = `[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`
	kubeadmDropIn = `# Note: This dropin only works with kubeadm and kubelet v1.11+
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
# This is a file that "kubeadm init" and "kubeadm join" generates at runtime, populating the KUBELET_KUBEADM_ARGS variable dynamically
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# This is a file that the user can use for overrides of the kubelet args as a last resort. Preferably, the user should use
# the .NodeRegistration.KubeletExtraArgs object in the configuration files instead. KUBELET_EXTRA_ARGS should be sourced from this file.
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`
	// KubeletDefaultsFile is where KUBELET_EXTRA_ARGS lives (the deb packages).
	KubeletDefaultsFile = "/etc/default/kubelet"
	// KubeadmFlagsFile is where kubeadm puts KUBELET_KUBEADM_ARGS.
	KubeadmFlagsFile = "/var/lib/kubelet/kubeadm-flags.env"
)

const kubeletServiceMode = 0o600 // as the packages install it

const containerdSocket = "/run/containerd/containerd.sock"

// containerdConfig is /etc/containerd/config.toml for Debian's containerd
// 1.6. The odd settings:
//   - restrict_oom_score_adj: these machines lack CAP_SYS_RESOURCE, so runc
//     cannot lower a container's oom_score_adj below containerd's own and
//     fails every sandbox ("can't get final child's PID from pipe: EOF");
//     restricted, containerd never asks it to.
//   - SystemdCgroup: runc asks systemd for the containers' cgroups, as the
//     kubelet (kubeadm's default cgroupDriver: systemd) does for the pods'.
//   - config_path: registries are configured by certs.d/HOST/hosts.toml.
//   - the CNI configuration has only the loopback plugin (enough for the
//     node to be Ready; pods use the host's network).
const containerdConfig = `version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "` + containerdSocket + `"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "` + PauseImage + `"
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "/etc/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "` + containerdCertsDir + `"
`

const loopbackConflist = `{
  "cniVersion": "1.0.0",
  "name": "loopback",
  "plugins": [{"type": "loopback"}]
}
`

// writeNodeFiles writes, through the node's root, what the node has before
// it boots: its name and machine ID, the boot target, masks and stop
// timeout, the Kubernetes packages' units and containerd's configuration.
func writeNodeFiles(root string, cfg Config) error {
	for _, bin := range []string{"/lib/systemd/systemd", "/usr/bin/containerd", "/usr/lib/cni/loopback"} {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("%v: install Debian's systemd, containerd, runc and containernetworking-plugins", err)
		}
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return err
	}
	hosts, err := os.ReadFile("/etc/hosts")
	if err != nil {
		return err
	}
	files := []struct {
		path, data string
		mode       os.FileMode
	}{
		{"/etc/hostname", cfg.NodeName + "\n", 0o644},
		{"/etc/machine-id", hex.EncodeToString(id) + "\n", 0o444}, // a journal of its own
		{"/etc/hosts", fmt.Sprintf("%s%s %s\n", hosts, cfg.NodeIP, cfg.NodeName), 0o644},
		{"/etc/systemd/system/" + nodeTarget, targetUnit, 0o644},
		{"/etc/systemd/system.conf.d/gcrcred-e2e.conf", managerConf, 0o644},
		{"/usr/lib/systemd/system/kubelet.service", kubeletService, kubeletServiceMode},
		{"/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf", kubeadmDropIn, 0o644},
		{KubeletDefaultsFile, "KUBELET_EXTRA_ARGS=\n", 0o644},
		{"/etc/containerd/config.toml", containerdConfig, 0o644},
		{"/etc/cni/net.d/10-loopback.conflist", loopbackConflist, 0o644},
	}
	for _, f := range files {
		if err := writeFile(root+f.path, []byte(f.data), f.mode); err != nil {
			return err
		}
	}
	for _, u := range maskedUnits {
		os.Remove(root + "/etc/systemd/system/" + u)
		if err := os.Symlink("/dev/null", root+"/etc/systemd/system/"+u); err != nil {
			return err
		}
	}
	return nil
}

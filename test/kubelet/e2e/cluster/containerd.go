package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

const containerdSocket = "/run/containerd/containerd.sock"

// containerdConfig is /etc/containerd/config.toml for Debian's containerd
// 1.6. The odd settings:
//   - restrict_oom_score_adj: these machines lack CAP_SYS_RESOURCE, so runc
//     cannot lower a container's oom_score_adj below containerd's own and
//     fails every sandbox ("can't get final child's PID from pipe: EOF");
//     restricted, containerd never asks it to.
//   - SystemdCgroup = false: there is no systemd; the kubelet uses cgroupfs.
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
        SystemdCgroup = false
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

// startContainerd writes containerd's configuration, starts Debian's
// containerd.service through the supervisor and imports the pause image.
func (c *Cluster) startContainerd(ctx context.Context) error {
	for _, bin := range []string{"/usr/bin/containerd", "/usr/lib/cni/loopback"} {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("%v: install Debian's containerd, runc and containernetworking-plugins", err)
		}
	}
	if err := writeFile("/etc/containerd/config.toml", []byte(containerdConfig), 0o644); err != nil {
		return err
	}
	if err := writeFile("/etc/cni/net.d/10-loopback.conflist", []byte(loopbackConflist), 0o644); err != nil {
		return err
	}
	if err := c.sup.Start("containerd"); err != nil {
		return err
	}
	if err := poll(ctx, time.Minute, "containerd", func(ctx context.Context) (bool, error) {
		out, err := exec.CommandContext(ctx, "ctr", "--address", containerdSocket, "version").CombinedOutput()
		if err != nil {
			return false, fmt.Errorf("ctr version: %v: %s", err, out)
		}
		return true, nil
	}); err != nil {
		return err
	}
	return c.importImage(ctx, filepath.Join(c.cfg.Bin.Tools, "pause"), "pause", PauseImage)
}

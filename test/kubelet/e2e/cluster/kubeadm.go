package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

const (
	// adminConf is kubeadm's system:masters kubeconfig. (admin.conf's group
	// gets its ClusterRoleBinding from the `kubeadm init` phases that talk
	// to the API server, which the cluster does not run.)
	adminConf = "/etc/kubernetes/super-admin.conf"
	// ServiceAccountIssuer is kubeadm's default service-account issuer; the
	// API server serves its discovery document and keys (/openid/v1/jwks).
	ServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local"
)

// kubeadmConfig is what `kubeadm init phase ...` reads. The API server
// advertises the node's address (a loopback one it refuses); etcd skips
// fsync (a throw-away cluster). The kubelet's configuration is kubeadm's
// (cgroupDriver: systemd, static pods in /etc/kubernetes/manifests...)
// plus what these machines need: failCgroupV1: false (they are cgroup v1
// hybrid), failSwapOn: false, and eviction only when the disk is all but
// full. The node runs workloads: no control-plane taint.
func kubeadmConfig(cfg Config) string {
	return fmt.Sprintf(`apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: %[1]s
nodeRegistration:
  name: %[2]s
  criSocket: unix://%[3]s
  taints: []
  kubeletExtraArgs:
  - name: node-ip
    value: %[1]s
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: %[4]s
apiServer:
  certSANs: [127.0.0.1, localhost]
etcd:
  local:
    extraArgs:
    - name: unsafe-no-fsync
      value: "true"
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
failSwapOn: false
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%%
  nodefs.inodesFree: 1%%
  imagefs.available: 1%%
`, cfg.NodeIP, cfg.NodeName, containerdSocket, cfg.Bin.Version)
}

// kubeadmInit runs the kubeadm phases that make a control-plane node, as
// `kubeadm init` would: certificates, kubeconfigs, the static pods of etcd
// and the control plane, then the kubelet's configuration and start
// (kubeadm runs `systemctl restart kubelet`).
func (c *Cluster) kubeadmInit(ctx context.Context) error {
	if err := writeFile(c.path("kubeadm.yaml"), []byte(kubeadmConfig(c.cfg)), 0o600); err != nil {
		return err
	}
	return c.kubeadmPhases(ctx, []string{"certs", "all"}, []string{"kubeconfig", "all"},
		[]string{"etcd", "local"}, []string{"control-plane", "all"}, []string{"kubelet-start"})
}

// kubeadmPhases runs `kubeadm init phase PHASE --config ...` for each
// phase; the output goes to scratch/kubeadm.log.
func (c *Cluster) kubeadmPhases(ctx context.Context, phases ...[]string) error {
	conf := c.path("kubeadm.yaml")
	logf, err := os.OpenFile(c.path("kubeadm.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	for _, phase := range phases {
		args := append(append([]string{"init", "phase"}, phase...), "--config", conf)
		cmd := exec.CommandContext(ctx, "kubeadm", args...)
		cmd.Env = nodeEnv()
		out, err := cmd.CombinedOutput()
		fmt.Fprintf(logf, "$ kubeadm %s\n%s", strings.Join(args, " "), out)
		if err != nil {
			return fmt.Errorf("kubeadm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// waitReady waits for the API server (a static pod the kubelet starts),
// runs kubeadm's bootstrap-token phase (it binds the API server's client
// certificate for the kubelets to system:kubelet-api-admin, which `kubectl
// exec` and `logs` need, and kubeadm:cluster-admins, the group of
// admin.conf), and waits for the node to be Ready.
func (c *Cluster) waitReady(ctx context.Context) error {
	if err := poll(ctx, 4*time.Minute, "kube-apiserver /readyz", func(ctx context.Context) (bool, error) {
		out, err := c.Kubectl(ctx, "get", "--raw", "/readyz")
		return out == "ok", err
	}); err != nil {
		return err
	}
	c.apiUp = true
	if err := c.kubeadmPhases(ctx, []string{"bootstrap-token"}); err != nil {
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

// importImages waits for containerd (Debian's unit, started at boot) and
// imports the sandbox image, the control-plane images that kubeadm's
// static pods name and the app as a local image: nothing can be pulled
// from the internet.
func (c *Cluster) importImages(ctx context.Context) error {
	if err := poll(ctx, time.Minute, "containerd", func(ctx context.Context) (bool, error) {
		out, err := exec.CommandContext(ctx, "ctr", "--address", containerdSocket, "version").CombinedOutput()
		if err != nil {
			return false, fmt.Errorf("ctr version: %v: %s", err, out)
		}
		return true, nil
	}); err != nil {
		return err
	}
	local := c.path("images", "local.tar")
	if err := writeImageTarball(local, map[string]imageSpec{
		PauseImage:    {binary: filepath.Join(c.cfg.Bin.Tools, "pause"), path: "/pause"},
		localAppImage: {binary: filepath.Join(c.cfg.Bin.Tools, "app"), path: "/app"},
	}); err != nil {
		return err
	}
	for _, tar := range []string{local, filepath.Join(c.cfg.Bin.K8s, controlPlaneImages)} {
		if _, err := c.ImportImageArchive(ctx, tar); err != nil {
			return err
		}
	}
	return nil
}

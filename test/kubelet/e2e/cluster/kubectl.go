package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Kubectl runs kubectl as the cluster admin and returns its trimmed output.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) (string, error) {
	return c.kubectlIn(ctx, nil, args...)
}

// Apply runs `kubectl apply -f -` with the given manifests.
func (c *Cluster) Apply(ctx context.Context, manifests string) error {
	_, err := c.kubectlIn(ctx, strings.NewReader(manifests), "apply", "-f", "-")
	return err
}

func (c *Cluster) kubectlIn(ctx context.Context, stdin *strings.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig=" + adminConf}, args...)...)
	cmd.Env = nodeEnv("HOME=/root") // its cache goes to /root/.kube, in the node
	cmd.Dir = "/"
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// Helm runs the helm CLI (Binaries.Helm) as the cluster admin and returns
// its trimmed output; its cache and config go to /root, in the node.
func (c *Cluster) Helm(ctx context.Context, args ...string) (string, error) {
	if c.cfg.Bin.Helm == "" {
		return "", fmt.Errorf("helm %s: no helm CLI was built for this run", strings.Join(args, " "))
	}
	cmd := exec.CommandContext(ctx, c.cfg.Bin.Helm, append([]string{"--kubeconfig=" + adminConf}, args...)...)
	cmd.Env = nodeEnv("HOME=/root")
	cmd.Dir = "/"
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("helm %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// CreateNamespace creates a namespace and waits for its default service
// account (pods cannot be created before it exists).
func (c *Cluster) CreateNamespace(ctx context.Context, ns string) error {
	if _, err := c.Kubectl(ctx, "create", "namespace", ns); err != nil {
		return err
	}
	return poll(ctx, time.Minute, "service account "+ns+"/default", func(ctx context.Context) (bool, error) {
		_, err := c.Kubectl(ctx, "-n", ns, "get", "serviceaccount", "default")
		return err == nil, err
	})
}

// Pod returns a pod.
func (c *Cluster) Pod(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	out, err := c.Kubectl(ctx, "-n", ns, "get", "pod", name, "-o", "json")
	if err != nil {
		return nil, err
	}
	var pod corev1.Pod
	if err := json.Unmarshal([]byte(out), &pod); err != nil {
		return nil, fmt.Errorf("pod %s/%s: %w", ns, name, err)
	}
	return &pod, nil
}

// WaitPod polls a pod until cond says it is done. cond's error explains the
// state seen last, for the timeout message.
func (c *Cluster) WaitPod(ctx context.Context, ns, name string, timeout time.Duration, what string,
	cond func(*corev1.Pod) (bool, error)) (*corev1.Pod, error) {
	var pod *corev1.Pod
	err := poll(ctx, timeout, fmt.Sprintf("pod %s/%s %s", ns, name, what), func(ctx context.Context) (bool, error) {
		p, err := c.Pod(ctx, ns, name)
		if err != nil {
			return false, err
		}
		pod = p
		return cond(p)
	})
	return pod, err
}

// PodState summarises a pod: its phase and each container's state and reason.
func PodState(p *corev1.Pod) string {
	var b strings.Builder
	b.WriteString(string(p.Status.Phase))
	for _, s := range p.Status.ContainerStatuses {
		switch {
		case s.State.Running != nil:
			fmt.Fprintf(&b, " %s=Running", s.Name)
		case s.State.Waiting != nil:
			fmt.Fprintf(&b, " %s=%s(%s)", s.Name, s.State.Waiting.Reason, s.State.Waiting.Message)
		case s.State.Terminated != nil:
			fmt.Fprintf(&b, " %s=Terminated(%s)", s.Name, s.State.Terminated.Reason)
		}
	}
	return b.String()
}

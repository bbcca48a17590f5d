package minikube

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Timeouts for one minikube call: copying the binary over ssh to a VM is the
// slowest thing the installer does.
const (
	sshTimeout    = 2 * time.Minute
	cpTimeout     = 5 * time.Minute
	statusTimeout = time.Minute
)

// Minikube runs the minikube CLI for one profile.
type Minikube struct {
	Bin     string // the minikube executable
	Profile string
}

// errMinikube is a failed minikube invocation, with what it said.
type errMinikube struct {
	args   []string
	err    error
	output string
}

func (e *errMinikube) Error() string {
	msg := fmt.Sprintf("`minikube %s` failed (%v)", strings.Join(e.args, " "), e.err)
	if out := strings.TrimSpace(e.output); out != "" {
		msg += ": " + clip(out, 600)
	}
	return msg
}

func (e *errMinikube) Unwrap() error { return e.err }

// run runs `minikube -p PROFILE args...` and returns its stdout.
func (m *Minikube) run(ctx context.Context, timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	full := append([]string{"-p", m.Profile}, args...)
	cmd := exec.CommandContext(ctx, m.Bin, full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer within %s", timeout)
		}
		return stdout.String(), &errMinikube{args: displayArgs(full), err: err, output: stderr.String() + stdout.String()}
	}
	return stdout.String(), nil
}

// displayArgs shortens an ssh script to its first line for error messages.
func displayArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if j := strings.IndexByte(a, '\n'); j >= 0 {
			a = a[:j] + " ..."
		}
		out[i] = clip(a, 120)
	}
	return out
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// NodeStatus is one element of `minikube status -o json`.
type NodeStatus struct {
	Name      string
	Host      string
	Kubelet   string
	APIServer string
	Worker    bool
}

// Status reads `minikube status -o json`: one object for a one-node profile,
// an array otherwise. minikube exits non-zero when something is stopped, so
// the exit code alone says little: the JSON does.
func (m *Minikube) Status(ctx context.Context) ([]NodeStatus, error) {
	out, err := m.run(ctx, statusTimeout, "status", "-o", "json")
	var sts []NodeStatus
	if perr := parseStatus(out, &sts); perr != nil {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("`minikube -p %s status -o json` printed something that is not its JSON (%v): %s", m.Profile, perr, clip(strings.TrimSpace(out), 300))
	}
	return sts, nil
}

func parseStatus(out string, sts *[]NodeStatus) error {
	out = strings.TrimSpace(out)
	if strings.HasPrefix(out, "[") {
		return json.Unmarshal([]byte(out), sts)
	}
	var one NodeStatus
	if err := json.Unmarshal([]byte(out), &one); err != nil {
		return err
	}
	if one.Name == "" {
		return errors.New("no node name")
	}
	*sts = []NodeStatus{one}
	return nil
}

// NodeNames reads `minikube node list` ("NAME\tIP" lines).
func (m *Minikube) NodeNames(ctx context.Context) ([]string, error) {
	out, err := m.run(ctx, statusTimeout, "node", "list")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, l := range lines(out) {
		if f := strings.Fields(l); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("`minikube -p %s node list` listed no nodes", m.Profile)
	}
	return names, nil
}

// Node is the named node of the profile.
func (m *Minikube) Node(name string) Node { return &cliNode{m: m, name: name} }

// cliNode reaches a node through `minikube ssh` and `minikube cp`.
type cliNode struct {
	m    *Minikube
	name string
}

func (n *cliNode) Name() string { return n.name }

// Run logs in as the docker user, as `minikube ssh` does, and uses its
// passwordless sudo. minikube joins the words after "--" and hands them to
// the login shell, so the script travels as one quoted word.
func (n *cliNode) Run(ctx context.Context, script string) (string, error) {
	out, err := n.m.run(ctx, sshTimeout, "ssh", "-n", n.name, "--", "sudo sh -c "+shQuote(script))
	return strings.ReplaceAll(out, "\r", ""), err
}

func (n *cliNode) CopyFile(ctx context.Context, hostPath, nodePath string) error {
	_, err := n.m.run(ctx, cpTimeout, "cp", hostPath, n.name+":"+nodePath)
	return err
}

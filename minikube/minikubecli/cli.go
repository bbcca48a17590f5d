// Package minikubecli is gcrcred's adapter for the minikube CLI: it runs
// `minikube -p PROFILE ...` (status, node list, ssh, cp), makes each node a
// nodeexec.Node whose argv travels through `minikube ssh` quoted in one
// place, and knows minikube's files on this host: MINIKUBE_HOME, the file
// sync folder, and a profile's saved config (its kubelet extra-config).
// Tool is a profile as the host-side engine's ClusterTool and Keeper.
package minikubecli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/cli"
)

// Timeouts for one minikube call: copying the binary over ssh to a VM is
// the slowest thing the installer does.
const (
	sshTimeout    = 2 * time.Minute
	cpTimeout     = 5 * time.Minute
	statusTimeout = time.Minute
)

// CLI runs the minikube CLI for one profile.
type CLI struct {
	Bin     string // the minikube executable
	Profile string
}

// Error is a failed minikube invocation, with what it said.
type Error struct {
	Args   []string
	Err    error
	Output string // stderr, then stdout
	Stderr string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("`minikube %s` failed (%v)", strings.Join(e.Args, " "), e.Err)
	if out := strings.TrimSpace(e.Output); out != "" {
		msg += ": " + cli.Squeeze(out, 600)
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// run runs `minikube -p PROFILE args...` with stdin and returns its stdout.
func (m *CLI) run(ctx context.Context, timeout time.Duration, stdin io.Reader, stdout io.Writer, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	full := append([]string{"-p", m.Profile}, args...)
	cmd := exec.CommandContext(ctx, m.Bin, full...)
	var out, stderr bytes.Buffer
	cmd.Stdin = stdin
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if stdout != nil {
		cmd.Stdout = io.MultiWriter(&out, stdout)
	}
	err := cmd.Run()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer within %s", timeout)
		}
		return &Error{Args: full, Err: err, Output: stderr.String() + out.String(), Stderr: stderr.String()}
	}
	return nil
}

func (m *CLI) output(ctx context.Context, timeout time.Duration, args ...string) (string, error) {
	var out bytes.Buffer
	err := m.run(ctx, timeout, nil, &out, args...)
	return out.String(), err
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
func (m *CLI) Status(ctx context.Context) ([]NodeStatus, error) {
	out, err := m.output(ctx, statusTimeout, "status", "-o", "json")
	var sts []NodeStatus
	if perr := ParseStatus(out, &sts); perr != nil {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("`minikube -p %s status -o json` printed something that is not its JSON (%v): %s", m.Profile, perr, cli.Clip(strings.TrimSpace(out), 300))
	}
	return sts, nil
}

// ParseStatus reads what `minikube status -o json` prints.
func ParseStatus(out string, sts *[]NodeStatus) error {
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
func (m *CLI) NodeNames(ctx context.Context) ([]string, error) {
	out, err := m.output(ctx, statusTimeout, "node", "list")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("`minikube -p %s node list` listed no nodes", m.Profile)
	}
	return names, nil
}

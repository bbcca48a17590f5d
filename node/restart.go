package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/nodeexec"
	"github.com/gcrcred/gcrcred/internal/noderoot"
)

// The kubelet reads its flags, provider config and plugin only at start:
// install and uninstall restart it through the node's service manager
// (its systemctl, chrooted into the root) and watch that it stays up.

// restartReason says why the kubelet must restart, "" if it need not: it
// reads its flags, provider config and plugin only at start.
func (in *installer) restartReason() string {
	s := in.s
	switch {
	case in.unitChanged:
		return "its unit changed"
	case in.restartFiles:
		return "its provider config or plugin changed"
	}
	p := s.kubelet.proc
	switch {
	case p == nil && s.kubelet.note != "":
		return "its running process is not believed: " + s.kubelet.note
	case p == nil:
		return "it is not running"
	case s.runningFlags != nil && !hasFlags(p.args, s.runningFlags):
		return "it runs without the provider flags"
	}
	if stale, _ := startedBefore(in.r, p, s); stale {
		return "it started before its current provider config"
	}
	return ""
}

// startedBefore reports whether the running kubelet started before the
// provider config or the plugin were last written (it has not read them).
func startedBefore(r *noderoot.Root, p *process, s *setup) (bool, string) {
	if p == nil || p.start.IsZero() {
		return false, ""
	}
	for _, f := range []string{s.config, path.Join(s.binDir, pluginName)} {
		if info, err := r.Lstat(f); err == nil && info.ModTime.After(p.start.Add(startSlack)) {
			return true, f
		}
	}
	return false, ""
}

// restartService restarts the kubelet's unit through the node's systemctl
// and fails unless it stays up for --kubelet-settle with the flags.
func (in *installer) restartService(why string) error {
	unit := in.s.service
	if in.unitChanged {
		if err := in.systemctl("daemon-reload"); err != nil {
			return err
		}
	}
	// Set before the call: a restart that fails may still have stopped the
	// kubelet, and rollback must then start it again.
	in.restarted = true
	if err := in.systemctl("restart", unit); err != nil {
		return err
	}
	if err := in.settle(unit); err != nil {
		return err
	}
	if in.s.runningFlags != nil {
		if err := in.waitForFlags(unit); err != nil {
			return err
		}
	}
	in.n.change("restarted %s (%s): up for %s", unit, why, in.o.settle)
	return nil
}

// flagsWait bounds how long a restarted kubelet may take to show in /proc
// with its new flags (a service manager may return before it has exec'd).
const flagsWait = 10 * time.Second

// waitForFlags waits until a kubelet with the provider flags runs.
func (in *installer) waitForFlags(unit string) error {
	deadline := time.Now().Add(flagsWait)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		k, err := findKubelet(in.r, in.s, true)
		if err != nil {
			return err
		}
		if k.proc != nil && hasFlags(k.proc.args, in.s.runningFlags) {
			in.s.kubelet = k
			return nil
		}
		if time.Now().After(deadline) {
			why := ""
			if k.note != "" {
				why = " (" + k.note + ")"
			}
			return fmt.Errorf("%s restarted, but no kubelet of it runs with %s after %s%s", unit, flagList(in.s.runningFlags), flagsWait, why)
		}
		select {
		case <-tick.C:
		case <-in.ctx.Done():
			return in.ctx.Err()
		}
	}
}

func flagList(flags []Flag) string {
	var s []string
	for _, f := range flags {
		s = append(s, f.String())
	}
	return strings.Join(s, " ")
}

// settle checks that the unit is active now and for --kubelet-settle
// (systemd reports a kubelet that exits at start as activating or failed).
func (in *installer) settle(unit string) error {
	deadline := time.Now().Add(in.o.settle)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		state, err := in.isActive(unit)
		if err != nil {
			return err
		}
		if state != "active" {
			return fmt.Errorf("%s did not stay up after the restart (systemctl is-active: %s)", unit, state)
		}
		if !time.Now().Before(deadline) {
			return nil
		}
		select {
		case <-tick.C:
		case <-in.ctx.Done():
			return in.ctx.Err()
		}
	}
}

func (in *installer) isActive(unit string) (string, error) {
	ctx, cancel := context.WithTimeout(in.ctx, time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := commands(in.r).Command(ctx, "systemctl", "is-active", unit).SetStdout(&out).Run()
	state := strings.TrimSpace(out.String())
	var ee interface{ ExitCode() int }
	if err != nil && !errors.As(err, &ee) {
		return "", fmt.Errorf("asking systemctl about %s: %v", unit, err)
	}
	if state == "" {
		state = "unknown"
	}
	return state, nil
}

func (in *installer) systemctl(args ...string) error {
	ctx, cancel := context.WithTimeout(in.ctx, 2*time.Minute)
	defer cancel()
	return nodeexec.Run(ctx, commands(in.r), "systemctl", args...)
}

// rollback puts back what this run changed, restarts the kubelet with it,
// and returns the cause with what was done.
func (in *installer) rollback(cause error, dockerBefore dockerStates) error {
	// An interrupt that ended the run must not stop the undo.
	in.ctx = context.WithoutCancel(in.ctx)
	var errs []error
	fmt.Fprintf(in.n.out, "  failed: %v\n  rolling back this run's changes\n", cause)
	errs = append(errs, undoNewDocker(in.r, dockerBefore, in.n))
	if in.recBefore == nil {
		errs = append(errs, removeNodeFile(in.r, RecordFile))
	} else {
		errs = append(errs, put(in.r, RecordFile, fileState{exists: true, content: in.recBefore, mode: 0o600}))
	}
	for i := len(in.undo) - 1; i >= 0; i-- {
		errs = append(errs, in.undo[i]())
	}
	after := "it was not restarted"
	if in.restarted {
		if in.unitChanged {
			errs = append(errs, in.systemctl("daemon-reload"))
		}
		errs = append(errs, in.systemctl("restart", in.s.service))
		state, _ := in.isActive(in.s.service)
		after = "restarted with them: " + state
	}
	msg := fmt.Sprintf("%v; gcrcred put back the files and flags it had changed (%s); see `journalctl -u %s -n 50` on the node", cause, after, in.s.service)
	if err := errors.Join(errs...); err != nil {
		msg += "; rolling back also failed: " + err.Error()
	}
	return errors.New(msg)
}

// undoNewDocker restores the Docker configs first changed during this run
// (by `node boot` during the restart).
func undoNewDocker(r *noderoot.Root, before dockerStates, n *notes) error {
	st, ok := loadDockerStates(r)
	if !ok {
		return nil
	}
	var errs []error
	for file, state := range st {
		if before[file] == nil {
			errs = append(errs, restoreDockerConfig(r, file, state, n))
			delete(st, file)
		}
	}
	if len(st) == 0 {
		errs = append(errs, removeNodeFile(r, dockerStateFile))
	} else {
		errs = append(errs, saveDockerStates(r, st))
	}
	return errors.Join(errs...)
}

package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/kubeletunit"
	"github.com/gcrcred/gcrcred/internal/nodeexec"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/node/internal/dockercfg"
	"github.com/gcrcred/gcrcred/node/internal/kubelet"
)

// The kubelet reads its flags, provider config and plugin only at start:
// install and uninstall restart it through the node's service manager
// (its systemctl, chrooted into the root) and watch that it stays up.

// restartReason says why the kubelet must restart, "" if it need not.
func (in *run) restartReason() string {
	s := in.s
	switch {
	case in.unitChanged:
		return "its unit changed"
	case in.restartFiles:
		return "its provider config or plugin changed"
	}
	p := s.Kubelet.Proc
	switch {
	case p == nil && s.Kubelet.Note != "":
		return "its running process is not believed: " + s.Kubelet.Note
	case p == nil:
		return "it is not running"
	case s.RunningFlags != nil && !kubeletunit.HasFlags(p.Args, s.RunningFlags):
		return "it runs without the provider flags"
	}
	if stale, _ := kubelet.StartedBefore(in.r, p, s.Config, s.Plugin()); stale {
		return "it started before its current provider config"
	}
	return ""
}

// restartService restarts the kubelet's unit through the node's systemctl
// and fails unless it stays up for --kubelet-settle with the flags.
func (in *run) restartService(why string) error {
	unit := in.s.Service.Name
	if err := in.restart(); err != nil {
		return err
	}
	if in.s.RunningFlags != nil {
		if err := in.waitForFlags(unit); err != nil {
			return err
		}
	}
	in.n.Change("restarted %s (%s): up for %s", unit, why, in.o.Settle)
	return nil
}

// restart reloads the units if one changed, restarts the kubelet's unit
// and checks that it stays up for --kubelet-settle.
func (in *run) restart() error {
	if in.unitChanged {
		if err := in.systemctl("daemon-reload"); err != nil {
			return err
		}
	}
	// Set before the call: a restart that fails may still have stopped the
	// kubelet, and rollback must then start it again.
	in.restarted = true
	if err := in.systemctl("restart", in.s.Service.Name); err != nil {
		return err
	}
	return in.settle(in.s.Service.Name)
}

// flagsWait bounds how long a restarted kubelet may take to show in /proc
// with its new flags (a service manager may return before it has exec'd).
const flagsWait = 10 * time.Second

// waitForFlags waits until a kubelet with the provider flags runs.
func (in *run) waitForFlags(unit string) error {
	deadline := time.Now().Add(flagsWait)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		k, err := kubelet.Find(in.r, &in.s.Service, true)
		if err != nil {
			return err
		}
		if k.Proc != nil && kubeletunit.HasFlags(k.Proc.Args, in.s.RunningFlags) {
			in.s.Kubelet = k
			return nil
		}
		if time.Now().After(deadline) {
			why := ""
			if k.Note != "" {
				why = " (" + k.Note + ")"
			}
			return fmt.Errorf("%s restarted, but no kubelet of it runs with %s after %s%s", unit, kubeletunit.FlagList(in.s.RunningFlags), flagsWait, why)
		}
		select {
		case <-tick.C:
		case <-in.ctx.Done():
			return in.ctx.Err()
		}
	}
}

// settle checks that the unit is active now and for --kubelet-settle
// (systemd reports a kubelet that exits at start as activating or failed).
func (in *run) settle(unit string) error {
	deadline := time.Now().Add(in.o.Settle)
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

func (in *run) isActive(unit string) (string, error) {
	ctx, cancel := context.WithTimeout(in.ctx, time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := in.commands().Command(ctx, "systemctl", "is-active", unit).SetStdout(&out).Run()
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

// checkSystemctl refuses, before anything changes, a node whose systemctl
// gcrcred would not run (see nodeexec.Root.LookPath); one the node lacks
// fails only where a restart is needed.
func (in *run) checkSystemctl() error {
	if _, err := in.commands().LookPath("systemctl"); err != nil && !errors.Is(err, nodeexec.ErrNotFound) {
		return fmt.Errorf("nothing changed: %w", err)
	}
	return nil
}

// commands runs the node's programs (its systemctl), chrooted into the root.
func (in *run) commands() nodeexec.Root { return nodeexec.Root{Dir: in.r.Dir()} }

func (in *run) systemctl(args ...string) error {
	ctx, cancel := context.WithTimeout(in.ctx, 2*time.Minute)
	defer cancel()
	return nodeexec.Run(ctx, in.commands(), "systemctl", args...)
}

// putBack runs this run's undo steps, newest first, and restarts the
// kubelet with what they put back if this run restarted it.
func (in *run) putBack() []error {
	var errs []error
	for i := len(in.undo) - 1; i >= 0; i-- {
		errs = append(errs, in.undo[i]())
	}
	if in.restarted {
		if in.unitChanged {
			errs = append(errs, in.systemctl("daemon-reload"))
		}
		errs = append(errs, in.systemctl("restart", in.s.Service.Name))
	}
	return errs
}

// rollback puts back what this run changed, restarts the kubelet with it,
// and returns the cause with what was done.
func (in *run) rollback(cause error, dockerBefore dockercfg.States) error {
	// An interrupt that ended the run must not stop the undo.
	in.ctx = context.WithoutCancel(in.ctx)
	fmt.Fprintf(in.n.out, "  failed: %v\n  rolling back this run's changes\n", cause)
	errs := []error{dockercfg.UndoNew(in.r, dockerBefore, in.n)}
	if in.recBefore == nil {
		errs = append(errs, in.r.RemoveFile(nodelayout.RecordFile))
	} else {
		errs = append(errs, in.r.PutIfChanged(nodelayout.RecordFile, in.recBefore, 0o600))
	}
	errs = append(errs, in.putBack()...)
	after := "it was not restarted"
	if in.restarted {
		state, _ := in.isActive(in.s.Service.Name)
		after = "restarted with them: " + state
	}
	msg := fmt.Sprintf("%v; gcrcred put back the files and flags it had changed (%s); see `journalctl -u %s -n 50` on the node", cause, after, in.s.Service.Name)
	if err := errors.Join(errs...); err != nil {
		msg += "; rolling back also failed: " + err.Error()
	}
	return errors.New(msg)
}

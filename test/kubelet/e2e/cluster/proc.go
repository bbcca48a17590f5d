package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// proc is a long-running process of the cluster whose output goes to a log file.
type proc struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
}

// nodeEnv is the environment of the node's daemons: what systemd gives a
// system service, nothing from the harness (no HOME, no GOFLAGS...).
func nodeEnv(extra ...string) []string {
	return append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}, extra...)
}

// startProc starts argv with its stdout and stderr appended to logPath, in a
// process group of its own so that stopping it reaches its children too.
func startProc(name string, argv, env []string, logPath string) (*proc, error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: log: %w", name, err)
	}
	defer logf.Close() // the child has its own copy
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s (%s): %w", name, argv[0], err)
	}
	p := &proc{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM (to the whole process group when group is set) and
// SIGKILL after grace. It returns once the process has exited.
func (p *proc) stop(grace time.Duration, group bool) {
	if p.exited() {
		return
	}
	target := p.pid()
	if group {
		target = -target
	}
	syscall.Kill(target, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		syscall.Kill(target, syscall.SIGKILL)
		<-p.done
	}
	if group { // leftovers of the group (plugin runs, and the like)
		syscall.Kill(-p.pid(), syscall.SIGKILL)
	}
}

// errIfExited is the error for a readiness poll whose process died.
func (p *proc) errIfExited() error {
	if p.exited() {
		return fmt.Errorf("%s exited: %v (log: %s)", p.name, p.err, p.log)
	}
	return nil
}

// poll calls cond every interval until it reports done, ctx ends or timeout
// passes. cond's last error (or "not yet") is part of the timeout error, so
// a failure says what was being waited for and what was last seen.
func poll(ctx context.Context, timeout time.Duration, what string, cond func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	interval := 200 * time.Millisecond
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var last error
	for {
		done, err := cond(ctx)
		if done && err == nil {
			return nil
		}
		var fatal *fatalError
		if errors.As(err, &fatal) {
			return fmt.Errorf("waiting for %s: %w", what, fatal.err)
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last == nil {
				last = errors.New("condition not met")
			}
			return fmt.Errorf("waiting for %s: gave up after %v: %w", what, timeout, last)
		case <-tick.C:
		}
	}
}

// fatalError stops a poll at once.
type fatalError struct{ err error }

func (f *fatalError) Error() string { return f.err.Error() }

// fatal wraps err so that poll gives up at once.
func fatal(err error) error { return &fatalError{err} }

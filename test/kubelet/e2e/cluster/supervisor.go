package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gcrcred/gcrcred/test/kubelet/e2e/unitapi"
)

// Supervisor stands in for systemd on the node, which has none: it runs the
// units containerd.service and kubelet.service from their unit files (and
// drop-ins) under /etc/systemd/system and /lib/systemd/system, re-reads
// their EnvironmentFile= at every start, restarts them as Restart= says, and
// answers the node's systemctl command on a unix socket (unitapi.Socket).
// Each unit's output goes to LOGDIR/UNIT.log, the supervisor's own to
// LOGDIR/supervisor.log.
type Supervisor struct {
	unitDirs []string
	socket   string
	logDir   string
	log      *os.File
	ln       net.Listener

	ops sync.Mutex // one start/stop/restart/daemon-reload at a time, as systemd's job queue

	mu    sync.Mutex
	units map[string]*unit
}

// unit is the run-time state of a loaded unit.
type unit struct {
	def          *unitDef
	state, sub   string // ActiveState, SubState
	result       string
	proc         *proc
	gen          int // incremented at each start; a stale exit watcher does nothing
	stopping     bool
	nRestarts    int
	activeEnter  time.Time
	activeMono   int64 // µs, CLOCK_MONOTONIC
	exitStatus   int
	restartTimer *time.Timer
}

// newSupervisor starts a supervisor of the units in unitDirs (highest
// priority first) listening on socket. The node's is newSupervisor(LOGDIR,
// unitapi.Socket, systemUnitDirs).
func newSupervisor(logDir, socket string, unitDirs []string) (*Supervisor, error) {
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(logDir, "supervisor.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	s := &Supervisor{unitDirs: unitDirs, socket: socket, logDir: logDir, log: logf, units: map[string]*unit{}}
	if err := os.MkdirAll(filepath.Dir(socket), 0o755); err != nil {
		return nil, err
	}
	os.Remove(socket)
	ln, err := net.Listen("unix", socket)
	if err != nil {
		return nil, fmt.Errorf("supervisor: %w", err)
	}
	os.Chmod(socket, 0o600)
	s.ln = ln
	go s.serve()
	s.logf("listening on %s", socket)
	return s, nil
}

func (s *Supervisor) logf(format string, args ...any) {
	fmt.Fprintf(s.log, "%s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// Start starts a unit, as `systemctl start NAME` does.
func (s *Supervisor) Start(name string) error {
	r := s.Systemctl("start", name)
	if r.Code != 0 {
		return fmt.Errorf("systemctl start %s: %s", name, strings.TrimSpace(r.Stderr))
	}
	return nil
}

// Close stops every unit, the kubelet first (it was started last), and
// closes the socket.
func (s *Supervisor) Close() {
	s.ln.Close()
	s.ops.Lock()
	defer s.ops.Unlock()
	s.mu.Lock()
	names := []string{"kubelet.service", "containerd.service"}
	for name := range s.units {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	s.mu.Unlock()
	for _, name := range names {
		s.mu.Lock()
		u := s.units[name]
		s.mu.Unlock()
		if u != nil {
			s.stop(u)
		}
	}
	s.logf("all units stopped")
	s.log.Close()
}

func (s *Supervisor) serve() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			var req unitapi.Request
			if err := json.NewDecoder(conn).Decode(&req); err != nil {
				return
			}
			reply := s.Systemctl(req.Args...)
			json.NewEncoder(conn).Encode(reply)
		}()
	}
}

// Systemctl runs one systemctl command line.
func (s *Supervisor) Systemctl(args ...string) unitapi.Reply {
	var (
		verb, props       []string
		quiet, value, now bool
	)
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-q" || a == "--quiet":
			quiet = true
		case a == "--value":
			value = true
		case a == "--now":
			now = true
		case a == "-p" || a == "--property":
			if i+1 < len(args) {
				i++
				props = append(props, strings.Split(args[i], ",")...)
			}
		case strings.HasPrefix(a, "--property="):
			props = append(props, strings.Split(strings.TrimPrefix(a, "--property="), ",")...)
		case strings.HasPrefix(a, "-p") && len(a) > 2:
			props = append(props, strings.Split(a[2:], ",")...)
		case strings.HasPrefix(a, "-"):
			// --no-pager, --no-block, --system, -l, --full...: nothing to do
		default:
			verb = append(verb, a)
		}
	}
	s.logf("systemctl %s", strings.Join(args, " "))
	if len(verb) == 0 {
		return unitapi.Reply{Stderr: "systemctl: this node's systemctl needs a command verb\n", Code: 1}
	}
	cmd, names := verb[0], verb[1:]
	for i, n := range names {
		names[i] = unitName(n)
	}
	var out, errs strings.Builder
	code := 0
	switch cmd {
	case "daemon-reload":
		s.ops.Lock()
		s.daemonReload()
		s.ops.Unlock()
	case "start", "stop", "restart", "try-restart", "reload-or-restart", "enable", "disable", "reenable":
		if len(names) == 0 {
			return unitapi.Reply{Stderr: "Too few arguments.\n", Code: 1}
		}
		s.ops.Lock()
		for _, n := range names {
			if err := s.job(cmd, n, now, &errs); err != nil {
				fmt.Fprintf(&errs, "%s\n", err)
				code = max(code, 1)
				if errors.Is(err, errUnitNotFound) {
					code = 5
				}
			}
		}
		s.ops.Unlock()
	case "is-active", "is-failed":
		code = 3
		if cmd == "is-failed" {
			code = 1
		}
		for _, n := range names {
			state := "inactive"
			if u := s.lookup(n); u != nil {
				s.mu.Lock()
				state = u.state
				s.mu.Unlock()
			}
			if !quiet {
				fmt.Fprintln(&out, state)
			}
			if (cmd == "is-active" && state == "active") || (cmd == "is-failed" && state == "failed") {
				code = 0
			}
		}
	case "is-enabled":
		for _, n := range names {
			if s.lookup(n) == nil {
				fmt.Fprintf(&errs, "Failed to get unit file state for %s: No such file or directory\n", n)
				code = 1
				continue
			}
			if !quiet {
				fmt.Fprintln(&out, "enabled")
			}
		}
	case "status":
		for _, n := range names {
			u := s.lookup(n)
			if u == nil {
				fmt.Fprintf(&errs, "Unit %s could not be found.\n", n)
				code = 4
				continue
			}
			if st := s.status(u, &out); st != 0 {
				code = max(code, st)
			}
		}
	case "show":
		for i, n := range names {
			if i > 0 {
				fmt.Fprintln(&out)
			}
			s.show(n, props, value, &out)
		}
	case "cat":
		for _, n := range names {
			u := s.lookup(n)
			if u == nil {
				fmt.Fprintf(&errs, "No files found for %s.\n", n)
				code = 1
				continue
			}
			for _, p := range append([]string{u.def.path}, u.def.dropIns...) {
				b, _ := os.ReadFile(p)
				fmt.Fprintf(&out, "# %s\n%s\n", p, b)
			}
		}
	default:
		return unitapi.Reply{Stderr: fmt.Sprintf("Unknown command verb '%s'.\n", cmd), Code: 1}
	}
	return unitapi.Reply{Stdout: out.String(), Stderr: errs.String(), Code: code}
}

// lookup returns the unit, loading it from disk the first time it is named.
func (s *Supervisor) lookup(name string) *unit {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.units[name]; ok {
		return u
	}
	def, err := loadUnit(s.unitDirs, name)
	if err != nil {
		if !errors.Is(err, errUnitNotFound) {
			s.logf("loading %s: %v", name, err)
		}
		return nil
	}
	if len(def.ignored) > 0 {
		s.logf("%s: not applied here: %s", name, strings.Join(def.ignored, "; "))
	}
	u := &unit{def: def, state: "inactive", sub: "dead"}
	s.units[name] = u
	return u
}

// daemonReload re-reads the files of every loaded unit; running processes
// keep the definition they were started with.
func (s *Supervisor) daemonReload() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, u := range s.units {
		def, err := loadUnit(s.unitDirs, name)
		if err != nil {
			s.logf("daemon-reload: %s: %v (keeping the old definition)", name, err)
			continue
		}
		u.def = def
	}
	s.logf("daemon-reload: done")
}

// job carries out start/stop/restart... for one unit. Callers hold s.ops.
func (s *Supervisor) job(cmd, name string, now bool, warn io.Writer) error {
	u := s.lookup(name)
	if u == nil {
		return fmt.Errorf("Failed to %s %s: Unit %s %w.", cmd, name, name, errUnitNotFound)
	}
	s.mu.Lock()
	changed := diskStamp(s.unitDirs, name) != u.def.stamp
	running := u.state == "active" || u.state == "activating"
	s.mu.Unlock()
	if changed && cmd != "enable" && cmd != "disable" {
		fmt.Fprintf(warn, "Warning: The unit file, source configuration file or drop-ins of %s changed on disk. Run 'systemctl daemon-reload' to reload units.\n", name)
	}
	switch cmd {
	case "enable", "reenable":
		if now {
			return s.start(u)
		}
		return nil
	case "disable":
		if now {
			s.stop(u)
		}
		return nil
	case "stop":
		s.stop(u)
		return nil
	case "start":
		return s.start(u)
	case "try-restart":
		if !running {
			return nil
		}
	}
	s.stop(u)
	return s.start(u)
}

// start starts u if it is not running. Callers hold s.ops.
func (s *Supervisor) start(u *unit) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.state == "active" {
		return nil
	}
	return s.startLocked(u)
}

func (s *Supervisor) startLocked(u *unit) error {
	if u.restartTimer != nil {
		u.restartTimer.Stop()
		u.restartTimer = nil
	}
	name := u.def.name
	argv, env, err := u.def.command()
	if err != nil {
		u.state, u.sub, u.result = "failed", "failed", "resources"
		s.logf("%s: %v", name, err)
		return fmt.Errorf("Job for %s failed: %v", name, err)
	}
	s.logf("%s: starting: %s", name, strings.Join(argv, " "))
	u.gen++
	p, err := startProc(name, argv, env, filepath.Join(s.logDir, strings.TrimSuffix(name, ".service")+".log"))
	if err != nil {
		// systemd: status=203/EXEC, and Restart= applies.
		s.logf("%s: %v", name, err)
		u.exitStatus = 203
		s.exitedLocked(u, u.gen, "exit-code")
		return nil
	}
	u.proc = p
	u.state, u.sub, u.result = "active", "running", "success"
	u.activeEnter, u.activeMono = time.Now(), monotonicMicros()
	gen := u.gen
	go func() {
		<-p.done
		s.mu.Lock()
		defer s.mu.Unlock()
		if u.gen != gen || u.stopping {
			return
		}
		result := "success"
		var ee *exec.ExitError
		if errors.As(p.err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				result = "signal"
				u.exitStatus = int(ws.Signal())
			} else {
				result = "exit-code"
				u.exitStatus = ee.ExitCode()
			}
		} else {
			u.exitStatus = 0
		}
		s.logf("%s: main process %d exited: %v", name, p.pid(), p.err)
		s.exitedLocked(u, gen, result)
	}()
	return nil
}

// exitedLocked applies Restart= after the main process of generation gen ended.
func (s *Supervisor) exitedLocked(u *unit, gen int, result string) {
	u.result = result
	restart := u.def.restart == "always" || (u.def.restart == "on-failure" && result != "success")
	if !restart {
		u.state, u.sub = "failed", "failed"
		if result == "success" {
			u.state, u.sub = "inactive", "dead"
		}
		return
	}
	u.state, u.sub = "activating", "auto-restart"
	s.logf("%s: scheduled restart in %v", u.def.name, u.def.restartSec)
	u.restartTimer = time.AfterFunc(u.def.restartSec, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if u.gen != gen || u.state != "activating" || u.stopping {
			return
		}
		u.nRestarts++
		s.startLocked(u)
	})
}

// stop stops u's process as KillMode= says and waits for it. Callers hold s.ops.
func (s *Supervisor) stop(u *unit) {
	s.mu.Lock()
	if u.restartTimer != nil {
		u.restartTimer.Stop()
		u.restartTimer = nil
	}
	p := u.proc
	if p == nil || p.exited() {
		if u.state != "failed" {
			u.state, u.sub = "inactive", "dead"
		}
		s.mu.Unlock()
		return
	}
	u.stopping = true
	u.state, u.sub = "deactivating", "stop-sigterm"
	timeout, group := min(u.def.stopTimeout, 30*time.Second), u.def.killMode != "process"
	s.mu.Unlock()
	s.logf("%s: stopping %d", u.def.name, p.pid())
	p.stop(timeout, group)
	s.mu.Lock()
	u.stopping = false
	u.gen++
	u.state, u.sub, u.result = "inactive", "dead", "success"
	s.mu.Unlock()
	s.logf("%s: stopped", u.def.name)
}

// status prints `systemctl status`; it returns 3 when the unit is not running.
func (s *Supervisor) status(u *unit, w io.Writer) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(w, "● %s - %s\n     Loaded: loaded (%s; enabled)\n", u.def.name, u.def.description, u.def.path)
	if len(u.def.dropIns) > 0 {
		fmt.Fprintf(w, "    Drop-In: %s\n", strings.Join(u.def.dropIns, ", "))
	}
	since := ""
	if !u.activeEnter.IsZero() {
		since = fmt.Sprintf(" since %s; %s ago", systemdTime(u.activeEnter), time.Since(u.activeEnter).Round(time.Second))
	}
	fmt.Fprintf(w, "     Active: %s (%s)%s\n", u.state, u.sub, since)
	if u.state == "active" && u.proc != nil {
		fmt.Fprintf(w, "   Main PID: %d (%s)\n", u.proc.pid(), filepath.Base(u.proc.cmd.Path))
	}
	if tail := tailFile(filepath.Join(s.logDir, strings.TrimSuffix(u.def.name, ".service")+".log"), 10); tail != "" {
		fmt.Fprintf(w, "\n%s", tail)
	}
	if u.state == "active" {
		return 0
	}
	return 3
}

// show prints properties as KEY=VALUE lines (only values with --value).
func (s *Supervisor) show(name string, props []string, valueOnly bool, w io.Writer) {
	vals := map[string]string{"Id": name, "Names": name, "LoadState": "not-found", "ActiveState": "inactive", "SubState": "dead"}
	if u := s.lookup(name); u != nil {
		s.mu.Lock()
		pid := 0
		if u.proc != nil && u.state == "active" {
			pid = u.proc.pid()
		}
		for k, v := range map[string]string{
			"Description":                   u.def.description,
			"LoadState":                     "loaded",
			"UnitFileState":                 "enabled",
			"FragmentPath":                  u.def.path,
			"DropInPaths":                   strings.Join(u.def.dropIns, " "),
			"ActiveState":                   u.state,
			"SubState":                      u.sub,
			"Result":                        u.result,
			"MainPID":                       fmt.Sprint(pid),
			"ExecMainPID":                   fmt.Sprint(pid),
			"ExecMainStatus":                fmt.Sprint(u.exitStatus),
			"NRestarts":                     fmt.Sprint(u.nRestarts),
			"ActiveEnterTimestamp":          systemdTime(u.activeEnter),
			"ActiveEnterTimestampMonotonic": fmt.Sprint(u.activeMono),
			"ExecMainStartTimestamp":        systemdTime(u.activeEnter),
			"Restart":                       u.def.restart,
			"RestartUSec":                   u.def.restartSec.String(),
			"KillMode":                      u.def.killMode,
			"NeedDaemonReload":              yesNo(diskStamp(s.unitDirs, name) != u.def.stamp),
			"Environment":                   strings.Join(u.def.environment, " "),
		} {
			vals[k] = v
		}
		s.mu.Unlock()
	}
	if len(props) == 0 {
		props = []string{"Id", "Names", "Description", "LoadState", "UnitFileState", "FragmentPath", "DropInPaths",
			"ActiveState", "SubState", "Result", "MainPID", "ExecMainPID", "ExecMainStatus", "NRestarts",
			"ActiveEnterTimestamp", "ActiveEnterTimestampMonotonic", "ExecMainStartTimestamp",
			"Restart", "RestartUSec", "KillMode", "NeedDaemonReload", "Environment"}
	}
	for _, p := range props {
		if valueOnly {
			fmt.Fprintln(w, vals[p])
		} else {
			fmt.Fprintf(w, "%s=%s\n", p, vals[p])
		}
	}
}

// systemdTime formats t as systemd does ("Mon 2025-12-01 08:02:03 UTC"); "" for zero.
func systemdTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("Mon 2006-01-02 15:04:05 MST")
}

func monotonicMicros() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano() / 1000
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// tailFile returns the last n lines of a file ("" if it cannot be read).
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}

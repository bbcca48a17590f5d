// Package kubelet is the node's kubelet as gcrcred sees it without
// running anything: the unit's process found through systemd's cgroups in
// <root>/proc (proc.go), its version from root's files and Go build
// information, and whether it keeps images apart between service accounts
// (version.go).
package kubelet

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/kubeletunit"
	"github.com/gcrcred/gcrcred/internal/nodeexec"
	"github.com/gcrcred/gcrcred/internal/noderoot"
)

// The running kubelet is found through its service, never by a process
// name: systemd puts every process of a unit into the unit's cgroup, and
// only root can move a process there. <root>/proc is read (in a pod
// without hostPID, the hostPath mount of the node's / carries the node's
// procfs at /proc with it), never this process's own /proc. Only
// processes of the unit's cgroup whose real and effective uid are 0 are
// read at all; another user's process never says where anything is.

// Service is how a systemd unit runs the kubelet, as detection found it in
// root's files.
type Service struct {
	Name       string            // the unit: kubelet, k3s, rke2-agent, ...
	Unit       *kubeletunit.Unit // as loaded; nil when taken from install's record
	Slice      string            // Slice=, "" for system.slice
	ExecBinary string            // the unit's ExecStart program, which its main process runs
	// Comm names the unit's process that is the kubelet (rke2: "kubelet");
	// "": the unit's main process is.
	Comm string
	// Embedded: the kubelet runs inside the main process with no command
	// line of its own (k3s).
	Embedded bool
	// ExeDataDir: the main process may also run DIR/*/bin/NAME, binaries
	// it unpacks and re-executes (k3s).
	ExeDataDir string
	// Version is what the set-up's own files say of the kubelet's version.
	Version Hint
}

// Hint is a kubelet version a set-up's own files state (kind's
// /kind/version, minikube's binaries path), or the file that did not say.
type Hint struct{ Version, From string }

// Process is one running program of the kubelet's unit.
type Process struct {
	PID, PPID int
	Comm      string
	Args      []string
	Start     time.Time // zero when unknown
}

// maxProcFile bounds a /proc file (a command line is at most a few MiB).
const maxProcFile = 4 << 20

// clockTicks is USER_HZ, the unit of /proc/PID/stat times (100 on Linux).
const clockTicks = 100

// StartSlack is how early a computed start time may be (btime's rounding).
const StartSlack = time.Second

// Running is the unit's kubelet as <root>/proc shows it.
type Running struct {
	Proc *Process // nil: none runs (or none that can be believed)
	Note string   // why a process of the unit was not believed
}

// Find finds the process whose flags and start time are the kubelet's: the
// unit's main process (k3s runs its kubelet inside it), or the unit's
// process named s.Comm (rke2). As root it also checks that the main process
// runs the unit's ExecStart binary.
func Find(r *noderoot.Root, s *Service, asRoot bool) (Running, error) {
	proc, err := r.OpenDir("/proc")
	if err != nil {
		return Running{}, noProcError(r, err)
	}
	defer proc.Close()
	if err := noderoot.CheckTrusted("/proc", proc.Info()); err != nil {
		return Running{}, err
	}
	h, err := systemdHierarchy(r, proc)
	if err != nil {
		return Running{}, err
	}
	want := h.prefix + slicePath(s.Slice) + s.Name + ".service"
	members, err := unitMembers(proc, h, want)
	if err != nil {
		return Running{}, err
	}
	main := mainProcess(members)
	if main == nil {
		return Running{}, nil
	}
	if asRoot {
		if err := checkExe(r, proc, main, s); err != nil {
			return Running{Note: err.Error()}, nil
		}
	}
	if s.Comm != "" {
		for _, p := range members { // lowest PID first
			if p.Comm == s.Comm {
				return Running{Proc: p}, nil
			}
		}
		return Running{}, nil
	}
	return Running{Proc: main}, nil
}

// noProcError says why <root>/proc shows no processes.
func noProcError(r *noderoot.Root, err error) error {
	return fmt.Errorf("%s/proc has no PID 1 (%v): gcrcred finds the kubelet among the node's processes there; in a pod, mount the node's / with its submounts (hostPath /, as deploy/ does: the node's /proc comes with it), or run it on the node itself", strings.TrimSuffix(r.Dir(), "/"), err)
}

// hierarchy is the cgroup hierarchy systemd runs PID 1 in, and the prefix
// of every unit's cgroup path in it: "/" on a host, "/docker/ID/" in a
// container, "/../../" as a cgroup namespace shows the host's. Paths are
// compared as strings: ".." is kept, never cleaned away.
type hierarchy struct {
	unified bool
	prefix  string
}

// systemdHierarchy reads PID 1's cgroup: the unified ("0::") line, else
// the v1 "name=systemd" one, whichever ends in systemd's /init.scope.
func systemdHierarchy(r *noderoot.Root, proc *noderoot.Dir) (hierarchy, error) {
	pid1, err := proc.OpenDir("1")
	if err != nil {
		return hierarchy{}, noProcError(r, err)
	}
	defer pid1.Close()
	b, _, err := pid1.ReadFile("cgroup", maxProcFile)
	if err != nil {
		return hierarchy{}, noProcError(r, err)
	}
	if h, ok := hierarchyOf(string(b)); ok {
		return h, nil
	}
	return hierarchy{}, fmt.Errorf("PID 1 of the node is not systemd (%s/proc/1/cgroup has no unified or name=systemd path ending in /init.scope: %q): gcrcred finds the kubelet through its systemd unit", strings.TrimSuffix(r.Dir(), "/"), strings.TrimSpace(string(b)))
}

// hierarchyOf is the hierarchy PID 1's cgroup file shows systemd in.
func hierarchyOf(pid1 string) (hierarchy, bool) {
	for _, unified := range []bool{true, false} {
		if p, ok := cgroupPath(pid1, unified); ok && strings.HasSuffix(p, "/init.scope") {
			return hierarchy{unified: unified, prefix: strings.TrimSuffix(p, "init.scope")}, true
		}
	}
	return hierarchy{}, false
}

// cgroupPath is the process's path in the unified hierarchy or in v1's
// name=systemd one, from /proc/PID/cgroup ("ID:CONTROLLERS:PATH" lines).
func cgroupPath(content string, unified bool) (string, bool) {
	for _, l := range strings.Split(content, "\n") {
		id, rest, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		controllers, p, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		if unified && id == "0" && controllers == "" {
			return p, true
		}
		if !unified && slices.Contains(strings.Split(controllers, ","), "name=systemd") {
			return p, true
		}
	}
	return "", false
}

// slicePath is where a slice puts its units: "system.slice/" by default,
// "a.slice/a-b.slice/" for a-b.slice, "" for the root slice.
func slicePath(slice string) string {
	if slice == "" {
		slice = "system.slice"
	}
	name := strings.TrimSuffix(slice, ".slice")
	if name == "-" || name == "" {
		return ""
	}
	var out string
	parts := strings.Split(name, "-")
	for i := range parts {
		out += strings.Join(parts[:i+1], "-") + ".slice/"
	}
	return out
}

// unitMembers are the processes whose cgroup is want and whose real and
// effective uid are 0 (their /proc directory root's too), lowest PID first.
func unitMembers(proc *noderoot.Dir, h hierarchy, want string) ([]*Process, error) {
	names, err := proc.Names()
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	var members []*Process
	for _, pid := range pids {
		if p := member(proc, pid, h, want); p != nil {
			members = append(members, p)
		}
	}
	return members, nil
}

// member reads one process if it belongs to the unit and is root's; nil
// otherwise (or when it is gone).
func member(proc *noderoot.Dir, pid int, h hierarchy, want string) *Process {
	d, err := proc.OpenDir(strconv.Itoa(pid))
	if err != nil {
		return nil
	}
	defer d.Close()
	if d.Info().UID != 0 {
		return nil // the kernel gives a process's directory its owner
	}
	cg, _, err := d.ReadFile("cgroup", maxProcFile)
	if err != nil {
		return nil
	}
	if p, ok := cgroupPath(string(cg), h.unified); !ok || p != want {
		return nil
	}
	st, _, err := d.ReadFile("status", maxProcFile)
	if err != nil {
		return nil
	}
	ppid, ruid, euid, ok := parseStatus(string(st))
	if !ok || ruid != 0 || euid != 0 {
		return nil
	}
	p := &Process{PID: pid, PPID: ppid}
	if b, _, err := d.ReadFile("comm", maxProcFile); err == nil {
		p.Comm = strings.TrimSpace(string(b))
	}
	if b, _, err := d.ReadFile("cmdline", maxProcFile); err == nil && len(b) > 0 {
		p.Args = strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	}
	if b, _, err := d.ReadFile("stat", maxProcFile); err == nil {
		p.Start = startTime(proc, string(b))
	}
	return p
}

// parseStatus reads PPid and the real and effective uid of /proc/PID/status.
func parseStatus(content string) (ppid, ruid, euid int, ok bool) {
	var havePPid, haveUid bool
	for _, l := range strings.Split(content, "\n") {
		k, v, found := strings.Cut(l, ":")
		if !found {
			continue
		}
		f := strings.Fields(v)
		switch {
		case k == "PPid" && len(f) == 1:
			ppid, havePPid = atoi(f[0])
		case k == "Uid" && len(f) >= 2:
			var ok1, ok2 bool
			ruid, ok1 = atoi(f[0])
			euid, ok2 = atoi(f[1])
			haveUid = ok1 && ok2
		}
	}
	return ppid, ruid, euid, havePPid && haveUid
}

func atoi(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// mainProcess is the member whose parent is not a member (the lowest PID
// if several); nil without members.
func mainProcess(members []*Process) *Process {
	isMember := map[int]bool{}
	for _, p := range members {
		isMember[p.PID] = true
	}
	for _, p := range members {
		if !isMember[p.PPID] {
			return p
		}
	}
	return nil
}

// checkExe checks that p runs the unit's ExecStart binary (or, for k3s,
// which re-executes itself from its data directory, one of the k3s
// binaries there), comparing device and inode with the file opened under
// the root.
func checkExe(r *noderoot.Root, proc *noderoot.Dir, p *Process, s *Service) error {
	d, err := proc.OpenDir(strconv.Itoa(p.PID))
	if err != nil {
		return fmt.Errorf("pid %d of %s.service is gone", p.PID, s.Name)
	}
	defer d.Close()
	exe, err := d.StatLinkTarget("exe")
	if err != nil {
		return fmt.Errorf("cannot tell what pid %d of %s.service runs (%v)", p.PID, s.Name, err)
	}
	for _, c := range exeCandidates(r, s) {
		if info, err := r.Lstat(r.UsrMerged(c)); err == nil && info.IsRegular() && info.SameFile(exe) {
			return nil
		}
	}
	return fmt.Errorf("pid %d of %s.service does not run %s, its ExecStart binary (replaced since it started? `systemctl restart %s` runs the one on disk)", p.PID, s.Name, s.ExecBinary, s.Name)
}

// exeCandidates are the files the unit's main process may run: its
// ExecStart binary (a bare name is looked for where systemd looks), and
// binaries it unpacks (k3s).
func exeCandidates(r *noderoot.Root, s *Service) []string {
	out := []string{s.ExecBinary}
	if !strings.Contains(s.ExecBinary, "/") {
		out = nil
		for _, d := range strings.Split(nodeexec.DefaultPath, ":") {
			out = append(out, path.Join(d, s.ExecBinary))
		}
	}
	if s.ExeDataDir == "" {
		return out
	}
	versions, _ := r.Entries(s.ExeDataDir)
	for _, v := range versions {
		out = append(out, path.Join(s.ExeDataDir, v, "bin", path.Base(s.ExecBinary)))
	}
	return out
}

// startTime is when a process started: its stat's starttime (clock ticks
// since boot) after the boot time in /proc/stat. btime is whole seconds, so
// the result may be up to a second early.
func startTime(proc *noderoot.Dir, stat string) time.Time {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return time.Time{}
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 20 {
		return time.Time{}
	}
	ticks, err := strconv.ParseInt(f[19], 10, 64) // field 22 of stat
	if err != nil {
		return time.Time{}
	}
	boot, _, err := proc.ReadFile("stat", maxProcFile)
	if err != nil {
		return time.Time{}
	}
	for _, l := range strings.Split(string(boot), "\n") {
		if v, ok := strings.CutPrefix(l, "btime "); ok {
			secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}
			}
			return time.Unix(secs, 0).Add(time.Duration(ticks) * time.Second / clockTicks)
		}
	}
	return time.Time{}
}

// StartedBefore reports whether the running kubelet started before one of
// files (its provider config, its plugin) was last written, and which: it
// has not read it.
func StartedBefore(r *noderoot.Root, p *Process, files ...string) (bool, string) {
	if p == nil || p.Start.IsZero() {
		return false, ""
	}
	for _, f := range files {
		if info, err := r.Lstat(f); err == nil && info.ModTime.After(p.Start.Add(StartSlack)) {
			return true, f
		}
	}
	return false, ""
}

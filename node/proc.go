package node

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/nodeexec"
)

// The running kubelet is read from /proc: what systemd has loaded may
// differ from what runs. Under --root, the root's own /proc is read: a pod
// that mounts the host's / at /host with its submounts sees the host's
// processes at /host/proc, whatever its PID namespace. Where that holds no
// processes (a mount without submounts), this machine's /proc is read
// instead, which is the host's in a pod with hostPID. (The root's /proc
// is empty then; an emulated one, as in tests, is not.)

// process is one running program.
type process struct {
	pid   int
	comm  string
	args  []string
	start time.Time // zero when unknown
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times (100 on Linux).
const clockTicks = 100

func procDir(r nodeexec.Root) string {
	if p, err := r.Path("/proc"); err == nil && !r.IsHost() {
		if entries, err := os.ReadDir(p); err == nil && len(entries) > 0 {
			return p
		}
	}
	return "/proc"
}

// findProcess returns the oldest running process whose comm is one of
// names (the kubelet under another kubelet's supervisor is the oldest).
func findProcess(r nodeexec.Root, names ...string) *process {
	dir := procDir(r)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var found []*process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join(dir, e.Name(), "comm"))
		if err != nil || !slices.Contains(names, strings.TrimSpace(string(comm))) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue // a zombie or a kernel thread
		}
		p := &process{pid: pid, comm: strings.TrimSpace(string(comm)), args: strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")}
		p.start = startTime(dir, e.Name())
		found = append(found, p)
	}
	if len(found) == 0 {
		return nil
	}
	sort.Slice(found, func(i, j int) bool { return found[i].pid < found[j].pid })
	return found[0]
}

// startTime is when a process started: its stat's starttime (clock ticks
// since boot) after the boot time in /proc/stat. btime is whole seconds, so
// the result may be up to a second early.
func startTime(dir, pid string) time.Time {
	stat, err := os.ReadFile(filepath.Join(dir, pid, "stat"))
	if err != nil {
		return time.Time{}
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return time.Time{}
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return time.Time{}
	}
	ticks, err := strconv.ParseInt(f[19], 10, 64) // field 22 of stat
	if err != nil {
		return time.Time{}
	}
	boot, err := os.ReadFile(filepath.Join(dir, "stat"))
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

// startSlack is how early a computed start time may be (btime's rounding).
const startSlack = time.Second

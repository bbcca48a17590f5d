package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/test/fakeminikube/unitfile"
)

// The node's emulated /proc as systemd leaves it: PID 1 is systemd in
// init.scope, and every process of a unit sits in the unit's cgroup under
// the same root. How the node's cgroups look (run/fakenode/cgroup, set per
// flavour) varies as it does on real nodes:
//
//	unified     cgroup v2, as on a host:           0::/init.scope
//	hybrid      v1 with systemd's named hierarchy:  1:name=systemd:/init.scope (and 0::/)
//	nested      systemd in a container:             0::/docker/f00d/init.scope
//	namespaced  the host's, seen from a pod's cgroup namespace: 0::/../../init.scope
const cgroupStyleFile = fakeDir + "/cgroup"

func cgroupStyle() string {
	b, _ := os.ReadFile(cgroupStyleFile)
	if s := strings.TrimSpace(string(b)); s != "" {
		return s
	}
	return "unified"
}

// cgroupFile is /proc/PID/cgroup for a process at path (relative to
// systemd's root, "/init.scope" or "/system.slice/kubelet.service").
func cgroupFile(path string) string {
	switch cgroupStyle() {
	case "hybrid":
		return "9:name=systemd:" + path + "\n4:memory:/\n1:cpu,cpuacct:/\n0::/\n"
	case "nested":
		return "0::/docker/f00d" + path + "\n"
	case "namespaced":
		return "0::/../.." + path + "\n"
	}
	return "0::" + path + "\n"
}

// unitCgroup is where systemd puts a unit's processes: its slice
// (system.slice unless Slice= says otherwise; a-b.slice inside a.slice).
func unitCgroup(u *unitfile.Unit) string {
	slice := strings.TrimSuffix(u.Slice, ".slice")
	if slice == "" {
		slice = "system"
	}
	p := ""
	if slice != "-" {
		parts := strings.Split(slice, "-")
		for i := range parts {
			p += "/" + strings.Join(parts[:i+1], "-") + ".slice"
		}
	}
	return p + "/" + u.Name + ".service"
}

// systemdProc makes /proc/1 systemd's, as booting the node would.
func systemdProc() error {
	if _, err := os.Stat("/proc/1/cgroup"); err == nil {
		return nil
	}
	if err := os.MkdirAll("/proc/1", 0o555); err != nil {
		return err
	}
	bootTime()
	for name, content := range map[string]string{
		"cmdline": "/sbin/init\x00",
		"comm":    "systemd\n",
		"status":  procStatus("systemd", 0, 0),
		"cgroup":  cgroupFile("/init.scope"),
	} {
		if err := os.WriteFile("/proc/1/"+name, []byte(content), 0o444); err != nil {
			return err
		}
	}
	return nil
}

// runProcess records a running process of unit where /proc would show
// it: its command line and name, a start time in its stat as the kernel
// writes it, root's uids and its parent in status, the unit's cgroup, and
// exe, a hard link to the file it runs ("": none).
func runProcess(u *unitfile.Unit, pid, ppid int, comm string, argv []string, exe string) error {
	dir := fmt.Sprintf("/proc/%d", pid)
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o555); err != nil {
		return err
	}
	btime := bootTime()
	ticks := time.Since(time.Unix(btime, 0)) * 100 / time.Second
	stat := fmt.Sprintf("%d (%s) S %d %d %d 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0\n", pid, comm, ppid, pid, pid, ticks)
	for name, content := range map[string]string{
		"cmdline": strings.Join(argv, "\x00") + "\x00",
		"comm":    comm + "\n",
		"stat":    stat,
		"status":  procStatus(comm, ppid, 0),
		"cgroup":  cgroupFile(unitCgroup(u)),
	} {
		if err := os.WriteFile(dir+"/"+name, []byte(content), 0o444); err != nil {
			return err
		}
	}
	if exe != "" {
		return os.Link(exe, dir+"/exe")
	}
	return nil
}

func procStatus(comm string, ppid, uid int) string {
	return fmt.Sprintf("Name:\t%s\nState:\tS (sleeping)\nPPid:\t%d\nUid:\t%d\t%d\t%d\t%d\nGid:\t%d\t%d\t%d\t%d\n", comm, ppid, uid, uid, uid, uid, uid, uid, uid, uid)
}

// bootTime is the node's /proc/stat btime, made at its first use.
func bootTime() int64 {
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		var t int64
		if _, err := fmt.Sscanf(strings.TrimSpace(string(b)), "btime %d", &t); err == nil {
			return t
		}
	}
	t := time.Now().Add(-time.Hour).Unix()
	os.WriteFile("/proc/stat", []byte(fmt.Sprintf("btime %d\n", t)), 0o444)
	return t
}

func stopProcess(unit string) {
	switch {
	case unit == "kubelet":
		os.RemoveAll(fmt.Sprintf("/proc/%d", kubeletPID))
	case strings.HasPrefix(unit, "rke2"):
		os.RemoveAll(fmt.Sprintf("/proc/%d", kubeletPID))
		os.RemoveAll(fmt.Sprintf("/proc/%d", rke2PID))
	case strings.HasPrefix(unit, "k3s"):
		os.RemoveAll(fmt.Sprintf("/proc/%d", k3sPID))
	}
}

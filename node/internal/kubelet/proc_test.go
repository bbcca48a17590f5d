package kubelet

import "testing"

// A unit's cgroup path is systemd's root (from PID 1's init.scope, ".."
// kept as is), the slice's path and the unit.
func TestUnitCgroupPaths(t *testing.T) {
	for _, tc := range []struct {
		pid1, slice, unit, want string
		unified                 bool
	}{
		{"0::/init.scope\n", "", "kubelet", "/system.slice/kubelet.service", true},
		{"0::/../../init.scope\n", "", "kubelet", "/../../system.slice/kubelet.service", true},
		{"0::/docker/f00d/init.scope\n", "k8s-node.slice", "kubelet", "/docker/f00d/k8s.slice/k8s-node.slice/kubelet.service", true},
		{"12:name=systemd:/init.scope\n3:memory:/\n0::/\n", "-.slice", "k3s", "/k3s.service", false},
	} {
		h, found := hierarchyOf(tc.pid1)
		if !found || h.unified != tc.unified {
			t.Errorf("%q: hierarchy %+v found %v", tc.pid1, h, found)
			continue
		}
		if got := h.prefix + slicePath(tc.slice) + tc.unit + ".service"; got != tc.want {
			t.Errorf("%q slice %q: %s, want %s", tc.pid1, tc.slice, got, tc.want)
		}
	}
}

func TestPID1MustBeSystemd(t *testing.T) {
	for _, pid1 := range []string{"0::/\n", "12:name=systemd:/\n0::/user.slice\n", ""} {
		if h, ok := hierarchyOf(pid1); ok {
			t.Errorf("%q: systemd at %+v", pid1, h)
		}
	}
}

func TestParseStatus(t *testing.T) {
	ppid, ruid, euid, ok := parseStatus("Name:\tkubelet\nPPid:\t1\nUid:\t0\t1000\t0\t0\n")
	if !ok || ppid != 1 || ruid != 0 || euid != 1000 {
		t.Errorf("got %d %d %d %v", ppid, ruid, euid, ok)
	}
	if _, _, _, ok := parseStatus("Name:\tx\n"); ok {
		t.Error("a status without PPid and Uid parsed")
	}
}

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/test/kubelet/e2e/cluster"
)

// The other user's directory, and its unit (systemd-run puts it in user.slice).
const (
	attackerUID  = 65532
	attackerDir  = "/tmp/not-the-kubelet"
	attackerUnit = "not-the-kubelet"
)

// scenarioNodeTrust is issue 16's first attack on a real node: uid 65532
// starts a program named kubelet before kubelet.service starts (so its PID
// is lower), with --image-credential-provider-config and
// --image-credential-provider-bin-dir naming directories it made, whose
// "gcrcred" reports to a tripwire if anything runs it. `gcrcred node
// status --root /` as root and as uid 65532, and the DaemonSet's install,
// must never run it, create or change nothing at its paths, and configure
// the real kubelet, kubelet.service's main process. Run last: on a gcrcred
// that takes the lowest-PID kubelet, it fails.
func scenarioNodeTrust(ctx context.Context, t *testing.T, c *cluster.Cluster, d *deployer) {
	wire := startTripwire(t)
	attacker := startAttackerKubelet(ctx, t, c, wire.addr)
	defer c.Systemctl(context.Background(), "stop", attackerUnit)
	pid, args, flags := kubeletFlags(ctx, t, c)
	if pid <= attacker.pid {
		t.Fatalf("kubelet.service's pid %d is not above the other user's kubelet's %d", pid, attacker.pid)
	}
	logf("uid %d runs %s (pid %d, cgroup %s); kubelet.service runs pid %d (cgroup %s) with %d args, provider flags %v",
		attackerUID, strings.Join(attacker.args, " "), attacker.pid, cgroupOf(attacker.pid), pid, cgroupOf(pid), len(args), flags)
	before := takeNodeState(ctx, t, c)
	bait, err := cluster.SnapshotPaths(attackerDir)
	if err != nil {
		t.Fatal(err)
	}

	nodeStatus(ctx, t, c, wire, "before the install", false)
	// Sub-tests, so that a failed rollout still lets the checks below say
	// what the install did.
	installed := t.Run("install", func(t *testing.T) { d.installWithKey(ctx, t, "install-node-trust") })
	wire.check(t, "the DaemonSet's install and readiness probe")
	pid, _, flags = kubeletFlags(ctx, t, c)
	if len(flags) != len(providerFlags) {
		t.Errorf("after the install, kubelet.service's kubelet (pid %d) runs with provider flags %v; want %d", pid, flags, len(providerFlags))
	} else {
		logf("kubelet.service's kubelet (pid %d) runs with %s", pid, strings.Join(flags, " "))
	}
	if now, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", attacker.pid)); err != nil || string(now) != attacker.cmdline {
		t.Errorf("the other user's kubelet (pid %d) changed or went: %q, %v", attacker.pid, now, err)
	}
	checkBaitUntouched(t, bait)
	nodeStatus(ctx, t, c, wire, "after the install", installed)

	t.Run("uninstall", func(t *testing.T) { d.uninstall(ctx, t) })
	wire.check(t, "the DaemonSet's uninstall")
	checkBaitUntouched(t, bait)
	checkNodeRestored(ctx, t, c, before)
}

// attackerKubelet is the other user's process.
type attackerKubelet struct {
	pid     int
	args    []string
	cmdline string
}

// startAttackerKubelet makes uid 65532 a local user, lays out its
// directory (a program named kubelet, bin/gcrcred the tripwire with its
// address, config/ a provider config naming gcrcred), stops
// kubelet.service, starts the program as uid 65532 with the two provider
// flags, and starts kubelet.service again.
func startAttackerKubelet(ctx context.Context, t *testing.T, c *cluster.Cluster, tripwire string) attackerKubelet {
	t.Helper()
	for file, line := range map[string]string{
		"/etc/passwd": fmt.Sprintf("nonroot:x:%d:%d:a local user:/nonexistent:/usr/sbin/nologin\n", attackerUID, attackerUID),
		"/etc/group":  fmt.Sprintf("nonroot:x:%d:\n", attackerUID),
	} {
		f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
		if err == nil {
			_, err = f.WriteString(line)
			err = errors.Join(err, f.Close())
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	app := filepath.Join(c.Config().Bin.Tools, "app")
	files := map[string]struct {
		src  string
		data string
	}{
		"kubelet":             {src: app},
		"bin/gcrcred":         {src: app},
		"bin/tripwire":        {data: tripwire + "\n"},
		"config/gcrcred.yaml": {data: "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n- name: gcrcred\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n  matchImages: [\"gcr.io\", \"*.gcr.io\", \"*.pkg.dev\"]\n  defaultCacheDuration: 1m\n  args: [get-credentials]\n"},
	}
	for name, f := range files {
		p := filepath.Join(attackerDir, name)
		data := []byte(f.data)
		if f.src != "" {
			var err error
			if data, err = os.ReadFile(f.src); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := filepath.Walk(attackerDir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, attackerUID, attackerUID)
	}); err != nil {
		t.Fatal(err)
	}
	args := []string{attackerDir + "/kubelet", "--image-credential-provider-config=" + attackerDir + "/config",
		"--image-credential-provider-bin-dir=" + attackerDir + "/bin"}
	run := append([]string{"--unit=" + attackerUnit, "--slice=user.slice", fmt.Sprintf("--uid=%d", attackerUID),
		fmt.Sprintf("--gid=%d", attackerUID), "--collect", "--"}, args...)
	for _, step := range [][]string{{"stop", "kubelet"}, nil, {"start", "kubelet"}} {
		if step == nil {
			out, err := exec.CommandContext(ctx, "systemd-run", run...).CombinedOutput()
			if err != nil {
				t.Fatalf("systemd-run %s: %v: %s", strings.Join(run, " "), err, out)
			}
			continue
		}
		if _, err := c.Systemctl(ctx, step...); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.Systemctl(ctx, "show", "-p", "MainPID", "--value", attackerUnit)
	if err != nil {
		t.Fatal(err)
	}
	var a attackerKubelet
	fmt.Sscan(out, &a.pid)
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", a.pid))
	if err != nil || !bytes.HasPrefix(cmdline, []byte(args[0]+"\x00")) {
		t.Fatalf("the other user's kubelet (pid %d): %q, %v", a.pid, cmdline, err)
	}
	a.args, a.cmdline = args, string(cmdline)
	if err := c.WaitNodeReady(ctx, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	return a
}

// nodeStatus runs `gcrcred node status --root /` on the node as root and
// as uid 65532, and checks that the tripwire stayed quiet; after the
// install, root's must pass.
func nodeStatus(ctx context.Context, t *testing.T, c *cluster.Cluster, wire *tripwire, when string, mustPass bool) {
	t.Helper()
	for _, uid := range []uint32{0, attackerUID} {
		cmd := exec.CommandContext(ctx, c.Config().Bin.Gcrcred, "node", "status", "--root", "/")
		cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		out, err := cmd.CombinedOutput()
		logf("%s, as uid %d: gcrcred node status --root / (%v):\n%s", when, uid, errOrOK(err), indent(string(out)))
		wire.check(t, fmt.Sprintf("gcrcred node status as uid %d %s", uid, when))
		if mustPass && uid == 0 && err != nil {
			t.Errorf("gcrcred node status as root %s: %v", when, err)
		}
	}
}

// tripwire records every run of the other user's gcrcred.
type tripwire struct {
	addr string
	mu   sync.Mutex
	runs []string
	seen int
}

func startTripwire(t *testing.T) *tripwire {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &tripwire{addr: ln.Addr().String()}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			b, _ := io.ReadAll(io.LimitReader(conn, 4096))
			conn.Close()
			w.mu.Lock()
			w.runs = append(w.runs, string(b))
			w.mu.Unlock()
		}
	}()
	return w
}

// check fails the test for each run since the last check.
func (w *tripwire) check(t *testing.T, what string) {
	t.Helper()
	time.Sleep(200 * time.Millisecond) // a report on its way
	w.mu.Lock()
	runs := w.runs[w.seen:]
	w.seen = len(w.runs)
	w.mu.Unlock()
	for _, r := range runs {
		t.Errorf("%s ran the other user's program: %s", what, r)
	}
	if len(runs) == 0 {
		logf("%s: the other user's %s/bin/gcrcred never ran", what, attackerDir)
	}
}

func checkBaitUntouched(t *testing.T, before cluster.Snapshot) {
	t.Helper()
	after, err := cluster.SnapshotPaths(attackerDir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := before.Diff(after); diff != "" {
		t.Errorf("the other user's %s changed:\n%s", attackerDir, diff)
	} else {
		logf("%s: %d entries, as the other user left them", attackerDir, after.Files())
	}
}

func cgroupOf(pid int) string {
	for _, l := range strings.Split(readFile(fmt.Sprintf("/proc/%d/cgroup", pid)), "\n") {
		if strings.HasPrefix(l, "0::") || strings.Contains(l, ":name=systemd:") {
			return l[strings.LastIndexByte(l, ':')+1:]
		}
	}
	return "?"
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func errOrOK(err error) string {
	if err != nil {
		return err.Error()
	}
	return "exit 0"
}

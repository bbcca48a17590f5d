package node_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/test/fakeminikube/fakecluster"
	"github.com/gcrcred/gcrcred/test/testbin"
)

// The node's trust rules, run as root against a second user: uid 65532
// (the DaemonSet's unprivileged uid) as the attacker, who owns /srv/attacker
// on the node and may run processes there.
const attacker = 65532

// how says how a command runs: as root or another uid, and with openat2
// or where it fails with ENOSYS or EPERM (the walk instead).
type how struct {
	uid  int
	walk string // "", "ENOSYS", "EPERM"
}

// run runs the built binary as `gcrcred node VERB --root ROOT ARGS...`.
func (w *world) run(h how, verb string, args ...string) (string, int) {
	w.t.Helper()
	argv := []string{filepath.Join(testbin.Build(w.t), "gcrcred"), "node", verb, "--root", w.n.Root}
	env := testbin.Env(w.t)
	if h.walk != "" {
		argv = append([]string{fakecluster.NoOpenat2(w.t), h.walk}, argv...)
		env = testbin.Merge(env, "GCRCRED_LOG=debug")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], append(argv[1:], args...)...)
	cmd.Env = env
	if h.uid != 0 {
		w.reachable()
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(h.uid), Gid: uint32(h.uid)}}
	}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		w.t.Fatalf("running %v: %v", argv, err)
	}
	if h.walk != "" && !strings.Contains(string(out), "openat2 is unavailable") {
		w.t.Fatalf("under no-openat2 %s, gcrcred did not say it walks paths instead:\n%s", h.walk, out)
	}
	if strings.Contains(string(out), "panic:") {
		w.t.Fatalf("gcrcred node %s panicked:\n%s", verb, out)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// reachable lets other users reach the node root (t.TempDir's are 0700).
func (w *world) reachable() {
	for d := w.n.Root; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			w.t.Fatal(err)
		}
	}
}

// mkdir makes a node directory with an owner and mode.
func (w *world) mkdir(p string, mode fs.FileMode, uid int) string {
	w.t.Helper()
	full := filepath.Join(w.n.Root, p)
	must(w.t, os.MkdirAll(full, 0o755))
	must(w.t, os.Chown(full, uid, uid))
	must(w.t, os.Chmod(full, mode))
	return full
}

// attackerFiles are a provider config and bin dir of the attacker's, whose
// gcrcred leaves a marker wherever it runs (in the node as root, or on
// this machine as another user); marker says whether it ran.
func (w *world) attackerFiles() (marker func() bool) {
	w.t.Helper()
	w.mkdir("srv", 0o755, 0)
	w.mkdir("srv/attacker", 0o755, attacker)
	w.mkdir("srv/attacker/bin", 0o755, attacker)
	ran := filepath.Join(w.n.Root, "srv/attacker/ran")
	script := "#!/bin/sh\necho ran >> /srv/attacker/ran\necho ran >> " + ran + "\nexit 0\n"
	w.write("srv/attacker/bin/gcrcred", script, 0o755, attacker, attacker)
	w.write("srv/attacker/config.yaml", `apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: gcrcred
    matchImages: ["gcr.io"]
    defaultCacheDuration: "1m"
    apiVersion: credentialprovider.kubelet.k8s.io/v1
`, 0o644, attacker, attacker)
	return func() bool { _, err := os.Lstat(ran); return err == nil }
}

var attackerFlags = []string{
	"--image-credential-provider-config=/srv/attacker/config.yaml",
	"--image-credential-provider-bin-dir=/srv/attacker/bin",
}

// TestAnotherUsersKubeletDecidesNothing: a `kubelet` of another user's,
// started before the real one (a lower PID) with provider flags naming
// the attacker's directories, and one of the kubelet unit's own processes
// that runs as that user: status, as root and as the attacker, never runs
// the attacker's gcrcred and reports the real set-up; install creates
// nothing at the attacker's paths and configures the real kubelet.
func TestAnotherUsersKubeletDecidesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "kubeadm")
	ran := w.attackerFiles()
	w.n.StartProcess(fakecluster.Process{PID: 100, PPID: 1, UID: attacker, Comm: "kubelet",
		Args: append([]string{"/srv/attacker/kubelet"}, attackerFlags...), Cgroup: "0::/user.slice/user-65532.slice/session-1.scope\n"})
	w.n.StartProcess(fakecluster.Process{PID: 101, PPID: 1, UID: attacker, Comm: "kubelet",
		Args: append([]string{"/usr/bin/kubelet"}, attackerFlags...), Cgroup: "0::/system.slice/kubelet.service\n"})
	attackers := fakecluster.Snapshot(t, filepath.Join(w.n.Root, "srv"))

	for _, h := range []how{{}, {uid: attacker}} {
		out, _ := w.run(h, "status")
		if ran() || !strings.Contains(out, "kubelet set-up: kubeadm (") || strings.Contains(out, "/srv/attacker") {
			t.Errorf("status as uid %d: the attacker's gcrcred ran: %v\n%s", h.uid, ran(), out)
		}
	}
	out, code := w.run(how{}, "install", "--credentials", w.key, "--kubelet-settle", "0s")
	if code != 0 || !strings.Contains(out, "kubelet set-up: kubeadm (") {
		t.Fatalf("install: exit %d\n%s", code, out)
	}
	if d := fakecluster.Diff(attackers, fakecluster.Snapshot(t, filepath.Join(w.n.Root, "srv"))); len(d) > 0 || ran() {
		t.Errorf("install changed the attacker's files (ran: %v):\n  %s", ran(), strings.Join(d, "\n  "))
	}
	w.pulls()
	for _, h := range []how{{}, {uid: attacker}} {
		if out, code := w.run(h, "status"); code != 0 || ran() || !strings.Contains(out, "all well") {
			t.Errorf("status as uid %d after install: exit %d, ran %v\n%s", h.uid, code, ran(), out)
		}
	}
}

// TestProviderPathsAnotherUserCanChangeAreRefused: a root-owned unit whose
// provider flags name a directory under one of the attacker's: install
// changes nothing and status reports it, each naming that directory.
func TestProviderPathsAnotherUserCanChangeAreRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "kubeadm")
	ran := w.attackerFiles()
	w.write("etc/default/kubelet", "KUBELET_EXTRA_ARGS=\""+strings.Join(attackerFlags, " ")+"\"\n", 0o644, 0, 0)
	if out, err := w.n.Systemctl("restart", "kubelet"); err != nil {
		t.Fatalf("restarting the kubelet with the attacker's paths: %v\n%s", err, out)
	}
	before := w.n.Tree()
	const named = "/srv/attacker is 0755 uid 65532"
	out, code := w.run(how{}, "install", "--credentials", w.key, "--kubelet-settle", "0s")
	if code != 1 || !strings.Contains(out, "nothing changed") || !strings.Contains(out, named) {
		t.Errorf("install: exit %d\n%s", code, out)
	}
	w.sameTree("a refused install", before)
	out, code = w.run(how{}, "status")
	if code != 1 || !strings.Contains(out, "PROBLEM paths: "+named) || ran() {
		t.Errorf("status: exit %d, ran %v\n%s", code, ran(), out)
	}
}

// TestUnitFilesMustBeRoots: a drop-in or an environment file that another
// user can change decides nothing: install refuses, naming it.
func TestUnitFilesMustBeRoots(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		plant func(w *world)
		named string
	}{
		"a drop-in of another user's": {func(w *world) {
			w.write("etc/systemd/system/kubelet.service.d/20-mine.conf", "[Service]\nEnvironment=X=1\n", 0o644, attacker, attacker)
		}, "/etc/systemd/system/kubelet.service.d/20-mine.conf is 0644 uid 65532"},
		"a group-writable environment file": {func(w *world) {
			must(t, os.Chmod(filepath.Join(w.n.Root, "etc/default/kubelet"), 0o664))
		}, "/etc/default/kubelet is 0664 uid 0"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, "kubeadm")
			tc.plant(w)
			before := w.n.Tree()
			out, code := w.run(how{}, "install", "--credentials", w.key, "--kubelet-settle", "0s")
			if code != 1 || !strings.Contains(out, tc.named) {
				t.Errorf("install: exit %d\n%s", code, out)
			}
			w.sameTree("a refused install", before)
		})
	}
}

// TestKubeletMustRunItsUnitsBinary: a kubelet process whose binary is no
// longer the unit's (replaced on disk since it started) is not believed:
// status says so, and install restarts it.
func TestKubeletMustRunItsUnitsBinary(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "kubeadm")
	w.install()
	bin := filepath.Join(w.n.Root, "usr/bin/kubelet")
	b, err := os.ReadFile(bin)
	must(t, err)
	must(t, os.Remove(bin))
	must(t, testbin.WriteProgram(bin, b))
	out, code := w.run(how{}, "status")
	if code != 1 || !strings.Contains(out, "PROBLEM kubelet: pid 4242 of kubelet.service does not run /usr/bin/kubelet") {
		t.Errorf("status with a replaced kubelet binary: exit %d\n%s", code, out)
	}
	out = w.install()
	if !strings.Contains(out, "restarted kubelet (its running process is not believed") {
		t.Errorf("install did not restart the kubelet:\n%s", out)
	}
	if out, code := w.run(how{}, "status"); code != 0 {
		t.Errorf("status after the restart: exit %d\n%s", code, out)
	}
}

// TestProcessesComeFromTheRootsProc: without the node's /proc (a pod that
// mounted / without its submounts) or with a PID 1 that is not systemd,
// install and status say so and change nothing; this machine's own /proc
// is never read instead.
func TestProcessesComeFromTheRootsProc(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		plant func(w *world)
		want  string
	}{
		"no PID 1":             {func(w *world) { must(t, os.RemoveAll(filepath.Join(w.n.Root, "proc/1"))) }, "/proc has no PID 1"},
		"PID 1 is not systemd": {func(w *world) { w.write("proc/1/cgroup", "0::/\n", 0o444, 0, 0) }, "PID 1 of the node is not systemd"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, "kubeadm")
			tc.plant(w)
			before := w.n.Tree()
			if out, code := w.run(how{}, "install", "--credentials", w.key, "--kubelet-settle", "0s"); code != 1 || !strings.Contains(out, tc.want) {
				t.Errorf("install: exit %d\n%s", code, out)
			}
			if out, code := w.run(how{}, "status"); code != 1 || !strings.Contains(out, tc.want) {
				t.Errorf("status: exit %d\n%s", code, out)
			}
			w.sameTree("install and status", before)
		})
	}
}

// TestWithoutOpenat2: where openat2 fails (an old kernel: ENOSYS; a
// container runtime's seccomp profile: EPERM), paths are walked one
// component at a time; install, status and uninstall work the same.
func TestWithoutOpenat2(t *testing.T) {
	t.Parallel()
	for _, errno := range []string{"ENOSYS", "EPERM"} {
		t.Run(errno, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, "kicbase")
			before := w.n.Tree()
			h := how{walk: errno}
			if out, code := w.run(h, "install", "--credentials", w.key, "--kubelet-settle", "0s", "--docker-users", "root,docker"); code != 0 {
				t.Fatalf("install: exit %d\n%s", code, out)
			}
			w.pulls()
			if out, code := w.run(h, "status"); code != 0 || !strings.Contains(out, "all well") {
				t.Errorf("status: exit %d\n%s", code, out)
			}
			if out, code := w.run(h, "uninstall", "--kubelet-settle", "0s"); code != 0 {
				t.Errorf("uninstall: exit %d\n%s", code, out)
			}
			w.sameTree("install then uninstall", before)
		})
	}
}

// TestRunningFlagsTheFilesDoNotGiveStopInstall: a kubelet running with
// provider flags its unit files no longer give it (started by hand, or
// files edited since) is a set-up gcrcred cannot see: install changes
// nothing and says so, status reports it; its flags never decide where
// gcrcred's files go.
func TestRunningFlagsTheFilesDoNotGiveStopInstall(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "kubeadm")
	w.write("opt/other/config.yaml", `apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: other
    matchImages: ["other.example"]
    defaultCacheDuration: "1m"
    apiVersion: credentialprovider.kubelet.k8s.io/v1
`, 0o644, 0, 0)
	w.write("opt/other/bin/other", "#!/bin/sh\nexit 1\n", 0o755, 0, 0)
	extra := filepath.Join(w.n.Root, "etc/default/kubelet")
	orig, err := os.ReadFile(extra)
	must(t, err)
	w.write("etc/default/kubelet", "KUBELET_EXTRA_ARGS=--image-credential-provider-config=/opt/other/config.yaml --image-credential-provider-bin-dir=/opt/other/bin\n", 0o644, 0, 0)
	if out, err := w.n.Systemctl("restart", "kubelet"); err != nil {
		t.Fatalf("restarting the kubelet: %v\n%s", err, out)
	}
	w.write("etc/default/kubelet", string(orig), 0o644, 0, 0)
	before := w.n.Tree()
	const says = "the running kubelet (pid 4242 of kubelet.service) has --image-credential-provider-config=/opt/other/config.yaml (the files give nothing)"
	out, code := w.run(how{}, "install", "--credentials", w.key, "--kubelet-settle", "0s")
	if code != 1 || !strings.Contains(out, "nothing changed: "+says) {
		t.Errorf("install: exit %d\n%s", code, out)
	}
	w.sameTree("a refused install", before)
	if out, code := w.run(how{}, "status"); code != 1 || !strings.Contains(out, "PROBLEM kubelet: "+says) {
		t.Errorf("status: exit %d\n%s", code, out)
	}
}

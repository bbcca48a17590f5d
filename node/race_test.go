package node_test

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gcrcred/gcrcred/test/fakeminikube/fakecluster"
)

// The attacker's side of the directory-swap race runs in this test binary
// (re-executed as uid 65532, see TestMain): a loop of renameat2
// RENAME_EXCHANGE that swaps a directory of theirs with a link to a
// root-only one, a few microseconds a swap, so that every path gcrcred
// resolves meanwhile finds either one. A shell loop of busybox mv and ln
// swapped once a few milliseconds, on a CPU of its own.
const (
	envSwapDir    = "GCRCRED_TEST_SWAP_DIR"
	envSwapTarget = "GCRCRED_TEST_SWAP_TARGET"
)

// swapLoop swaps dir and dir.link (a link to target) until killed.
func swapLoop(dir, target string) int {
	link := dir + ".link"
	if err := os.Symlink(target, link); err != nil {
		fmt.Fprintln(os.Stderr, "swapper:", err)
		return 1
	}
	if unix.Renameat2(unix.AT_FDCWD, dir, unix.AT_FDCWD, link, unix.RENAME_EXCHANGE) != nil {
		// A file system without RENAME_EXCHANGE: move, link, unlink, move.
		for {
			os.Rename(dir, dir+".real")
			os.Symlink(target, dir)
			os.Remove(dir)
			os.Rename(dir+".real", dir)
		}
	}
	for {
		unix.Renameat2(unix.AT_FDCWD, dir, unix.AT_FDCWD, link, unix.RENAME_EXCHANGE)
	}
}

var (
	swapperOnce sync.Once
	swapperBin  string
	swapperErr  error
)

// swapperProgram is this test binary where the attacker may run it.
func swapperProgram(t *testing.T) string {
	t.Helper()
	swapperOnce.Do(func() {
		self, err := os.Executable()
		if err != nil {
			swapperErr = err
			return
		}
		dir, err := os.MkdirTemp("", "swapper-")
		if err == nil {
			err = os.Chmod(dir, 0o755)
		}
		if err != nil {
			swapperErr = err
			return
		}
		swapperBin = filepath.Join(dir, "node.test")
		if os.Link(self, swapperBin) != nil {
			b, err := os.ReadFile(self)
			if err == nil {
				err = os.WriteFile(swapperBin, b, 0o755)
			}
			swapperErr = err
		}
	})
	if swapperErr != nil {
		t.Fatalf("making the swapper runnable by uid %d: %v", attacker, swapperErr)
	}
	return swapperBin
}

// swapper starts, as the attacker, the loop that swaps the directory dir
// (a host path) with a link to target (a node path), until stopped.
func (w *world) swapper(dir, target string) (stop func()) {
	w.t.Helper()
	w.reachable()
	cmd := exec.Command(swapperProgram(w.t), "-test.run=^$")
	cmd.Env = []string{envSwapDir + "=" + dir, envSwapTarget + "=" + target}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: attacker, Gid: attacker}, Setpgid: true}
	must(w.t, cmd.Start())
	var once sync.Once
	stop = func() {
		once.Do(func() {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
			// Put the directory back if the loop was stopped half-way.
			if fi, err := os.Lstat(dir); err != nil || fi.Mode()&fs.ModeSymlink != 0 {
				if unix.Renameat2(unix.AT_FDCWD, dir, unix.AT_FDCWD, dir+".link", unix.RENAME_EXCHANGE) != nil {
					os.Remove(dir)
					os.Rename(dir+".real", dir)
				}
			}
			os.Remove(dir + ".link")
		})
	}
	w.t.Cleanup(stop) // also when the test fails half-way
	return stop
}

// TestDirectorySwapRace: while the attacker swaps a directory of theirs
// with a link to a root-only directory (a stand-in for /etc) as fast as
// they can, install and uninstall run again and again, with openat2 and
// with the walk: nothing is ever written into the stand-in, no file
// outside the attacker's own directories becomes theirs, and root puts
// nothing of its own in theirs. The directory is the provider bin dir a
// root-owned unit names (install refuses that set-up at once), or the
// attacker's ~/.docker (install writes their Docker config there, through
// descriptors).
func TestDirectorySwapRace(t *testing.T) {
	t.Parallel()
	for _, walk := range []string{"", "ENOSYS"} {
		mode := "openat2"
		if walk != "" {
			mode = "walk"
		}
		t.Run("bin dir/"+mode, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, "kubeadm")
			w.attackerFiles()
			w.write("etc/default/kubelet", "KUBELET_EXTRA_ARGS=\""+strings.Join(attackerFlags, " ")+"\"\n", 0o644, 0, 0)
			if out, err := w.n.Systemctl("restart", "kubelet"); err != nil {
				t.Fatalf("restarting the kubelet with the attacker's paths: %v\n%s", err, out)
			}
			w.race(how{walk: walk}, filepath.Join(w.n.Root, "srv/attacker/bin"), 12, nil, "srv/attacker")
		})
		t.Run("docker dir/"+mode, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, "kubeadm")
			passwd, err := os.ReadFile(filepath.Join(w.n.Root, "etc/passwd"))
			must(t, err)
			w.write("etc/passwd", string(passwd)+"attacker:x:65532:65532::/home/attacker:/bin/sh\n", 0o644, 0, 0)
			w.mkdir("home/attacker", 0o755, attacker)
			w.mkdir("home/attacker/.docker", 0o700, attacker)
			w.race(how{walk: walk}, filepath.Join(w.n.Root, "home/attacker/.docker"), 8, []string{"--docker-users", "root,attacker"}, "home/attacker")
		})
	}
}

// race runs install and uninstall rounds times while the attacker swaps
// dir, then checks the stand-in and who owns what outside theirs.
func (w *world) race(h how, dir string, rounds int, installArgs []string, theirs string) {
	w.t.Helper()
	standIn := w.mkdir("srv/etc", 0o700, 0)
	w.write("srv/etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0o644, 0, 0)
	before := fakecluster.Snapshot(w.t, standIn)
	stop := w.swapper(dir, "/srv/etc")
	codes := map[string]int{}
	for i := 0; i < rounds; i++ {
		_, code := w.run(h, "install", append([]string{"--credentials", w.key, "--kubelet-settle", "0s"}, installArgs...)...)
		codes["install exit "+strconv.Itoa(code)]++
		_, code = w.run(h, "uninstall", "--kubelet-settle", "0s")
		codes["uninstall exit "+strconv.Itoa(code)]++
	}
	stop()
	w.t.Logf("%d rounds: %v", rounds, codes)
	if d := fakecluster.Diff(before, fakecluster.Snapshot(w.t, standIn)); len(d) > 0 {
		w.t.Errorf("written into the stand-in for /etc through the swapped link:\n  %s", strings.Join(d, "\n  "))
	}
	for p, v := range w.n.Tree() {
		f := strings.Fields(v)
		if len(f) < 2 {
			continue
		}
		inTheirs := p == theirs || strings.HasPrefix(p, theirs+"/")
		if owned := strings.HasPrefix(f[1], strconv.Itoa(attacker)+":"); owned != inTheirs {
			w.t.Errorf("%s is %s: outside the attacker's directories nothing may be theirs, inside nothing root's", p, v)
		}
	}
}

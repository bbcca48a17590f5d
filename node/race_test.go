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
	"github.com/gcrcred/gcrcred/test/testbin"
)

// The attacker's side of the directory-swap race runs in this test binary
// (re-executed as uid 65532, see TestMain): a loop of renameat2
// RENAME_EXCHANGE that swaps a directory of theirs with a link to a
// root-only one tens of thousands of times a second, so that every path
// gcrcred resolves meanwhile finds either one; it sleeps a few microseconds
// between swaps, so that it does not take a CPU from what it races. (A
// shell loop of busybox mv and ln swapped a few hundred times a second, on
// a CPU of its own.)
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
			nap()
		}
	}
	for {
		unix.Renameat2(unix.AT_FDCWD, dir, unix.AT_FDCWD, link, unix.RENAME_EXCHANGE)
		nap()
	}
}

// nap sleeps a few microseconds (the kernel's timer slack adds tens).
func nap() { unix.Nanosleep(&unix.Timespec{Nsec: 5000}, nil) }

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
			swapperErr = testbin.CopyProgram(self, swapperBin)
		}
	})
	if swapperErr != nil {
		t.Fatalf("making the swapper runnable by uid %d: %v", attacker, swapperErr)
	}
	return swapperBin
}

// swapper is the attacker's swap loop, running.
type swapper struct {
	pid  int
	stop func()
}

// swapper starts, as the attacker, the loop that swaps the directory dir
// (a host path) with a link to target (a node path), until stopped.
func (w *world) swapper(dir, target string) *swapper {
	w.t.Helper()
	w.reachable()
	cmd := exec.Command(swapperProgram(w.t), "-test.run=^$")
	cmd.Env = []string{envSwapDir + "=" + dir, envSwapTarget + "=" + target}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: attacker, Gid: attacker}, Setpgid: true}
	must(w.t, cmd.Start())
	var once sync.Once
	stop := func() {
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
	return &swapper{pid: cmd.Process.Pid, stop: stop}
}

// paused runs f with the loop stopped (SIGSTOP, and waited for: a signal
// arrives when it arrives), so that f sees the node standing still.
func (s *swapper) paused(t *testing.T, f func()) {
	t.Helper()
	syscall.Kill(s.pid, syscall.SIGSTOP)
	defer syscall.Kill(s.pid, syscall.SIGCONT)
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(s.pid, &ws, syscall.WUNTRACED, nil); err != nil || !ws.Stopped() {
		t.Fatalf("the swapper did not stop: %v (%v)", ws, err)
	}
	f()
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
			// Install makes the attacker's token cache, theirs.
			w.race(how{walk: walk}, filepath.Join(w.n.Root, "home/attacker/.docker"), 8, []string{"--docker-users", "root,attacker"}, "home/attacker", "var/lib/gcrcred/cache/65532")
		})
	}
}

// race runs install and uninstall rounds times while the attacker swaps
// dir, checking after each run, with the loop paused, the stand-in and who
// owns what outside the directories that are theirs (a later run could
// hide what an earlier one did).
func (w *world) race(h how, dir string, rounds int, installArgs []string, theirs ...string) {
	w.t.Helper()
	standIn := w.mkdir("srv/etc", 0o700, 0)
	w.write("srv/etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0o644, 0, 0)
	before := fakecluster.Snapshot(w.t, standIn)
	sw := w.swapper(dir, "/srv/etc")
	defer sw.stop()
	codes := map[string]int{}
	for i := 0; i < rounds && !w.t.Failed(); i++ {
		for _, args := range [][]string{append([]string{"install", "--credentials", w.key, "--kubelet-settle", "0s"}, installArgs...), {"uninstall", "--kubelet-settle", "0s"}} {
			_, code := w.run(h, args[0], args[1:]...)
			codes[args[0]+" exit "+strconv.Itoa(code)]++
			sw.paused(w.t, func() { w.raceCheck(fmt.Sprintf("round %d, %s", i+1, args[0]), standIn, before, theirs) })
		}
	}
	w.t.Logf("%d rounds: %v", rounds, codes)
}

// raceCheck fails the test if anything was written into the stand-in, or
// if a file outside the attacker's directory is theirs or one inside root's.
func (w *world) raceCheck(when, standIn string, before fakecluster.Tree, theirs []string) {
	w.t.Helper()
	if d := fakecluster.Diff(before, fakecluster.Snapshot(w.t, standIn)); len(d) > 0 {
		w.t.Errorf("%s: written into the stand-in for /etc through the swapped link:\n  %s", when, strings.Join(d, "\n  "))
	}
	for p, v := range w.n.Tree() {
		f := strings.Fields(v)
		if len(f) < 2 {
			continue
		}
		inTheirs := false
		for _, d := range theirs {
			inTheirs = inTheirs || p == d || strings.HasPrefix(p, d+"/")
		}
		if owned := strings.HasPrefix(f[1], strconv.Itoa(attacker)+":"); owned != inTheirs {
			w.t.Errorf("%s: %s is %s: outside the attacker's directories nothing may be theirs, inside nothing root's", when, p, v)
		}
	}
}

//go:build linux

package systrace

import (
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The traced programs are this test binary again, doing what
// GCRCRED_SYSTRACE_TEST_DO says, so the tests need nothing else.
const envDo = "GCRCRED_SYSTRACE_TEST_DO"

func TestMain(m *testing.M) {
	if do := os.Getenv(envDo); do != "" {
		os.Exit(helper(do))
	}
	os.Exit(m.Run())
}

func helper(do string) int {
	self, _ := os.Executable()
	switch do {
	case "nothing":
		return 3
	case "exec-self":
		err := syscall.Exec(self, []string{"again"}, []string{envDo + "=nothing"})
		println(err.Error())
		return 1
	case "spawn-from-a-thread":
		// A child started from another OS thread, as Go programs do.
		done := make(chan error)
		go func() {
			runtime.LockOSThread()
			cmd := exec.Command(self)
			cmd.Env = []string{envDo + "=nothing"}
			done <- cmd.Run()
		}()
		<-done
		return 0
	case "exec-missing":
		exec.Command("/nonexistent/program").Run()
		return 0
	case "memfd":
		unix.MemfdCreate("x", 0)
		return 0
	case "sync-and-rename":
		dir := os.Getenv("DIR")
		f, _ := os.Create(filepath.Join(dir, "new"))
		f.Sync()
		f.Close()
		os.Rename(filepath.Join(dir, "new"), filepath.Join(dir, "final"))
		d, _ := os.Open(dir)
		d.Sync()
		return 0
	case "own-signal":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGUSR1)
		syscall.Kill(os.Getpid(), syscall.SIGUSR1)
		select {
		case <-c:
			return 0
		case <-time.After(10 * time.Second):
			return 1
		}
	case "killed":
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	case "sleep":
		time.Sleep(time.Minute)
	}
	return 2
}

func traceSelf(t *testing.T, do string, calls []string, extraEnv ...string) *Result {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run([]string{self}, Options{Env: append([]string{envDo + "=" + do}, extraEnv...), Calls: calls})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var execCalls = []string{"execve", "execveat", "memfd_create"}

func TestSeesEveryExec(t *testing.T) {
	self, _ := os.Executable()
	r := traceSelf(t, "nothing", execCalls)
	if r.Code != 3 || len(r.Execs) != 1 || r.Execs[0] != self || len(r.Calls) != 0 {
		t.Errorf("a program that runs nothing: exit %d, execs %q, calls:\n%s", r.Code, r.Execs, r.Trace())
	}
	r = traceSelf(t, "exec-self", execCalls)
	if r.Code != 3 || len(r.Execs) != 2 || r.Count("execve") != 1 || !strings.Contains(r.Trace(), `execve("`+self+`", ["again"], ...)`) {
		t.Errorf("a program that execs: exit %d, execs %q, calls:\n%s", r.Code, r.Execs, r.Trace())
	}
	r = traceSelf(t, "spawn-from-a-thread", execCalls)
	if r.Code != 0 || len(r.Execs) != 2 || r.Count("execve") != 1 {
		t.Errorf("a child started from a thread: exit %d, execs %q, calls:\n%s", r.Code, r.Execs, r.Trace())
	}
	// An exec that fails never becomes a program, but the attempt shows.
	r = traceSelf(t, "exec-missing", execCalls)
	if len(r.Execs) != 1 || !strings.Contains(r.Trace(), `execve("/nonexistent/program"`) {
		t.Errorf("a failed exec: execs %q, calls:\n%s", r.Execs, r.Trace())
	}
	r = traceSelf(t, "memfd", execCalls)
	if r.Count("memfd_create") != 1 || !strings.Contains(r.Trace(), `memfd_create("x", 0)`) {
		t.Errorf("memfd_create: calls:\n%s", r.Trace())
	}
}

// fsync and rename show with their descriptors' paths, in order.
func TestDecodesDescriptorsAndPaths(t *testing.T) {
	dir := t.TempDir()
	dir, _ = filepath.EvalSymlinks(dir)
	r := traceSelf(t, "sync-and-rename", []string{"fsync", "fdatasync", "rename", "renameat", "renameat2"}, "DIR="+dir)
	want := regexp.MustCompile(`(?s)fsync\(\d+<` + regexp.QuoteMeta(dir) + `/new>\).*rename(at2?)?\(.*"` + regexp.QuoteMeta(dir) + `/new".*"` + regexp.QuoteMeta(dir) + `/final".*\).*fsync\(\d+<` + regexp.QuoteMeta(dir) + `>\)`)
	if !want.MatchString(r.Trace()) {
		t.Errorf("calls:\n%s", r.Trace())
	}
}

// The program's own signals reach it; a killed program's status says so;
// a program past the timeout is killed.
func TestSignalsAndTimeout(t *testing.T) {
	if r := traceSelf(t, "own-signal", nil); r.Code != 0 {
		t.Errorf("a program's own signal: exit %d %s", r.Code, r.Stderr)
	}
	if r := traceSelf(t, "killed", nil); r.Code != 128+int(syscall.SIGKILL) {
		t.Errorf("a killed program: exit %d", r.Code)
	}
	self, _ := os.Executable()
	start := time.Now()
	r, err := Run([]string{self}, Options{Env: []string{envDo + "=sleep"}, Timeout: 300 * time.Millisecond})
	if err != nil || r.Code != 128+int(syscall.SIGKILL) || time.Since(start) > 20*time.Second {
		t.Errorf("past the timeout: %v, exit %v after %v", err, r, time.Since(start))
	}
	if _, err := Run([]string{self}, Options{Calls: []string{"openat"}}); err == nil {
		t.Error("a call it does not decode was accepted")
	}
}

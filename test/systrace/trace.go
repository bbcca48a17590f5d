//go:build linux

package systrace

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// signatures say how to show each recordable call's arguments.
var signatures = map[string][]argKind{
	"execve":       {argPath, argArgv, argSkip},
	"execveat":     {argDirfd, argPath, argArgv, argSkip, argInt},
	"memfd_create": {argPath, argInt},
	"fsync":        {argFd},
	"fdatasync":    {argFd},
	"rename":       {argPath, argPath},
	"renameat":     {argDirfd, argPath, argDirfd, argPath},
	"renameat2":    {argDirfd, argPath, argDirfd, argPath, argInt},
}

type argKind int

const (
	argInt   argKind = iota
	argFd            // 5</the/file>
	argDirfd         // AT_FDCWD or an fd
	argPath          // a NUL-terminated string
	argArgv          // a NULL-terminated array of strings
	argSkip          // shown as ...
)

// The ptrace constants x/sys names; the stop a syscall makes is SIGTRAP|0x80
// under PTRACE_O_TRACESYSGOOD.
const (
	options = unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK |
		unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_EXITKILL
	syscallStop = syscall.SIGTRAP | 0x80
)

// trace starts cmd traced from its first instruction and follows its tree
// until every process in it has exited (or the timeout kills them).
func trace(cmd *exec.Cmd, names []string, timeout time.Duration) (*Result, error) {
	// Every ptrace request must come from the thread that is the tracer.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	want := map[uint64]string{}
	for _, n := range names {
		nr, ok := numbers[n]
		if !ok {
			return nil, fmt.Errorf("%s is not a system call on %s", n, runtime.GOARCH)
		}
		want[nr] = n
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	root := cmd.Process.Pid
	timer := time.AfterFunc(timeout, func() { syscall.Kill(-root, syscall.SIGKILL) })
	defer timer.Stop()

	// The program stops with SIGTRAP once its execve has succeeded.
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(root, &ws, syscall.WALL, nil); err != nil {
		return nil, err
	}
	if !ws.Stopped() {
		return nil, fmt.Errorf("the program did not stop at its exec: %v", ws)
	}
	if err := syscall.PtraceSetOptions(root, options); err != nil {
		return nil, fmt.Errorf("PTRACE_SETOPTIONS: %v", err)
	}
	r := &Result{Execs: []string{exe(root)}}
	inSyscall := map[int]bool{}
	known := map[int]bool{root: true}
	if err := syscall.PtraceSyscall(root, 0); err != nil {
		return nil, err
	}
	for {
		pid, err := syscall.Wait4(-1, &ws, syscall.WALL, nil)
		if errors.Is(err, syscall.ECHILD) {
			return r, nil // the whole tree has exited
		}
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		switch {
		case ws.Exited(), ws.Signaled():
			if pid == root {
				r.Code = ws.ExitStatus()
				if ws.Signaled() {
					r.Code = 128 + int(ws.Signal())
				}
			}
			delete(inSyscall, pid)
			continue
		case !ws.Stopped():
			continue
		}
		signal := 0
		switch sig := ws.StopSignal(); {
		case sig == syscallStop:
			entering := !inSyscall[pid]
			inSyscall[pid] = entering
			if entering {
				if nr, args, err := registers(pid); err == nil {
					if name, ok := want[nr]; ok {
						r.Calls = append(r.Calls, Call{PID: pid, Name: name, Args: decode(pid, signatures[name], args)})
					}
				}
			}
		case sig == syscall.SIGTRAP && ws.TrapCause() == unix.PTRACE_EVENT_EXEC:
			// The exec succeeded: pid is now the new program, still inside
			// its execve (whichever thread made it).
			r.Execs = append(r.Execs, exe(pid))
			if former, err := syscall.PtraceGetEventMsg(pid); err == nil && int(former) != pid {
				delete(inSyscall, int(former))
			}
			inSyscall[pid] = true
		case sig == syscall.SIGTRAP && ws.TrapCause() > 0:
			// fork, vfork, clone: the child is traced from birth.
		case sig == syscall.SIGSTOP && !known[pid]:
			known[pid] = true // a new child's first stop
		default:
			signal = int(sig) // the program's own signal: deliver it
		}
		known[pid] = true
		if err := syscall.PtraceSyscall(pid, signal); err != nil && !errors.Is(err, syscall.ESRCH) {
			return nil, fmt.Errorf("PTRACE_SYSCALL %d: %v", pid, err)
		}
	}
}

// exe is the program pid runs.
func exe(pid int) string {
	p, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		return "?"
	}
	return p
}

// decode shows a call's arguments as strace -y does.
func decode(pid int, kinds []argKind, args [6]uint64) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		a := args[i]
		switch k {
		case argInt:
			out[i] = strconv.FormatInt(int64(a), 10)
		case argDirfd:
			if int32(a) == unix.AT_FDCWD {
				out[i] = "AT_FDCWD"
				break
			}
			fallthrough
		case argFd:
			target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, int32(a)))
			out[i] = fmt.Sprintf("%d<%s>", int32(a), target)
		case argPath:
			out[i] = strconv.Quote(readString(pid, a))
		case argArgv:
			out[i] = readArgv(pid, a)
		case argSkip:
			out[i] = "..."
		}
	}
	return out
}

// readString reads a NUL-terminated string of the tracee (4 KiB at most).
func readString(pid int, addr uint64) string {
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		return "?"
	}
	defer mem.Close()
	var s []byte
	buf := make([]byte, 256)
	for len(s) < 4096 {
		n, err := mem.ReadAt(buf, int64(addr)+int64(len(s)))
		for _, c := range buf[:n] {
			if c == 0 {
				return string(s)
			}
			s = append(s, c)
		}
		if err != nil || n == 0 {
			break
		}
	}
	return string(s)
}

// readArgv reads a NULL-terminated array of string pointers (64 at most).
func readArgv(pid int, addr uint64) string {
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		return "?"
	}
	defer mem.Close()
	var words []string
	ptr := make([]byte, 8)
	for i := 0; i < 64; i++ {
		if n, _ := mem.ReadAt(ptr, int64(addr)+int64(8*i)); n != 8 {
			break
		}
		p := uint64(ptr[0]) | uint64(ptr[1])<<8 | uint64(ptr[2])<<16 | uint64(ptr[3])<<24 |
			uint64(ptr[4])<<32 | uint64(ptr[5])<<40 | uint64(ptr[6])<<48 | uint64(ptr[7])<<56
		if p == 0 {
			break
		}
		words = append(words, strconv.Quote(readString(pid, p)))
	}
	return fmt.Sprintf("%v", words)
}

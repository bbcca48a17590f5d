//go:build linux

package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// noOpenat2 is `no-openat2 ERRNO PROGRAM ARGS...`: PROGRAM run under a
// seccomp filter that fails openat2 with ERRNO (ENOSYS as a kernel before
// 5.6 does, EPERM as a container runtime's profile may), so tests show
// what gcrcred does where the kernel has no openat2.
func noOpenat2(args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: no-openat2 ENOSYS|EPERM PROGRAM ARGS...")
		return 2
	}
	errno := map[string]syscall.Errno{"ENOSYS": unix.ENOSYS, "EPERM": unix.EPERM}[args[0]]
	if errno == 0 {
		fmt.Fprintf(os.Stderr, "no-openat2: %q is not ENOSYS or EPERM\n", args[0])
		return 2
	}
	// The filter is the calling thread's, and execve keeps it: both on one thread.
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "no-openat2: PR_SET_NO_NEW_PRIVS:", err)
		return 1
	}
	arch := map[string]uint32{"amd64": unix.AUDIT_ARCH_X86_64, "arm64": unix.AUDIT_ARCH_AARCH64}[runtime.GOARCH]
	const (
		ld  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret = unix.BPF_RET | unix.BPF_K
	)
	// seccomp_data: nr at offset 0, arch at offset 4.
	prog := []unix.SockFilter{
		{Code: ld, K: 4},
		{Code: jeq, Jt: 0, Jf: 3, K: arch},
		{Code: ld, K: 0},
		{Code: jeq, Jt: 0, Jf: 1, K: unix.SYS_OPENAT2},
		{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(errno)},
		{Code: ret, K: unix.SECCOMP_RET_ALLOW},
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog))); e != 0 {
		fmt.Fprintln(os.Stderr, "no-openat2: seccomp:", e)
		return 1
	}
	err := syscall.Exec(args[1], args[1:], os.Environ())
	fmt.Fprintf(os.Stderr, "no-openat2: exec %s: %v\n", args[1], err)
	return 127
}

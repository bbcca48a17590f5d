//go:build linux

package systrace

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// numbers are the recordable calls' numbers on linux/amd64.
var numbers = map[string]uint64{
	"execve": unix.SYS_EXECVE, "execveat": unix.SYS_EXECVEAT, "memfd_create": unix.SYS_MEMFD_CREATE,
	"fsync": unix.SYS_FSYNC, "fdatasync": unix.SYS_FDATASYNC,
	"rename": unix.SYS_RENAME, "renameat": unix.SYS_RENAMEAT, "renameat2": unix.SYS_RENAMEAT2,
}

// registers are the number and arguments of the call pid is entering.
func registers(pid int) (nr uint64, args [6]uint64, err error) {
	var r syscall.PtraceRegs
	if err := syscall.PtraceGetRegs(pid, &r); err != nil {
		return 0, args, err
	}
	return r.Orig_rax, [6]uint64{r.Rdi, r.Rsi, r.Rdx, r.R10, r.R8, r.R9}, nil
}

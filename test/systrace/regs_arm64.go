//go:build linux

package systrace

import "golang.org/x/sys/unix"

// numbers are the recordable calls' numbers on linux/arm64 (which has no
// rename, only renameat and renameat2).
var numbers = map[string]uint64{
	"execve": unix.SYS_EXECVE, "execveat": unix.SYS_EXECVEAT, "memfd_create": unix.SYS_MEMFD_CREATE,
	"fsync": unix.SYS_FSYNC, "fdatasync": unix.SYS_FDATASYNC,
	"renameat": unix.SYS_RENAMEAT, "renameat2": unix.SYS_RENAMEAT2,
}

// registers are the number (x8) and arguments (x0-x5) of the call pid is
// entering; arm64 has no PTRACE_GETREGS, only the NT_PRSTATUS register set.
func registers(pid int) (nr uint64, args [6]uint64, err error) {
	var r unix.PtraceRegsArm64
	if err := unix.PtraceGetRegSetArm64(pid, unix.NT_PRSTATUS, &r); err != nil {
		return 0, args, err
	}
	return r.Regs[8], [6]uint64{r.Regs[0], r.Regs[1], r.Regs[2], r.Regs[3], r.Regs[4], r.Regs[5]}, nil
}

package noderoot

import (
	"errors"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/gcrcred/gcrcred/internal/logx"
)

// oPath opens a directory only to resolve names under it.
const oPath = unix.O_PATH

// resolveFlags confine a path to the root: no symbolic link, no magic link
// (/proc/PID/root and the like), ".." stopping at the root.
const resolveFlags = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// forceWalk makes every Root walk (tests of the fallback inside this package).
var forceWalk bool

var (
	probeOnce sync.Once
	probeOK   bool
)

// haveOpenat2 probes openat2 once per process: Linux before 5.6 has none
// (ENOSYS), and a container runtime's seccomp profile may refuse it
// (EPERM, or ENOSYS from newer profiles). Then every path is walked.
func haveOpenat2(rootfd int) bool {
	probeOnce.Do(func() {
		fd, err := unix.Openat2(rootfd, ".", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: resolveFlags})
		if err == nil {
			unix.Close(fd)
			probeOK = true
			return
		}
		if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
			logx.Debugf("node root: openat2 is unavailable (%v): paths are walked one component at a time with openat(O_NOFOLLOW)", err)
			return
		}
		probeOK = true // another error is about this root, not about openat2
	})
	return probeOK && !forceWalk
}

// openat2 opens rel (components joined, no "..") below dirfd, confined.
func openat2(dirfd int, rel string, flags int, mode uint32) (int, error) {
	how := &unix.OpenHow{Flags: uint64(flags), Mode: uint64(mode), Resolve: resolveFlags}
	for tries := 0; ; tries++ {
		fd, err := unix.Openat2(dirfd, rel, how)
		// EAGAIN: a rename raced the lookup (RESOLVE_IN_ROOT); bounded retries.
		if errors.Is(err, unix.EAGAIN) && tries < 8 {
			continue
		}
		return fd, err
	}
}

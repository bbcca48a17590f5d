//go:build !linux

package noderoot

import "golang.org/x/sys/unix"

// Outside Linux there is neither O_PATH nor openat2 (node commands are for
// Linux nodes; this keeps the one binary building everywhere): paths are
// walked with openat(O_NOFOLLOW).
const oPath = unix.O_RDONLY

var forceWalk bool

func haveOpenat2(int) bool { return false }

func openat2(int, string, int, uint32) (int, error) { return -1, unix.ENOSYS }

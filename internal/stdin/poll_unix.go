//go:build unix

package stdin

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// readPolled reads the file f (the process's stdin) in this goroutine,
// waiting for input with poll(2) until the deadline: no second goroutine,
// timer or thread on the warm path, where Docker and the kubelet have
// written the request and closed the pipe before gcrcred reads it. ok is
// false when f cannot be polled; Read then reads it another way.
func readPolled(f *os.File, limit int64, wait time.Duration, what string) (data []byte, err error, ok bool) {
	fd := int(f.Fd())
	deadline := time.Now().Add(wait)
	buf := make([]byte, 0, 512)
	for {
		ms := int(time.Until(deadline).Milliseconds())
		if ms <= 0 {
			return nil, silent(wait, what), true
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, ms)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return nil, nil, false
		case n == 0:
			return nil, silent(wait, what), true
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		// Readable (or at its end, or hung up): this read does not block.
		m, err := unix.Read(fd, buf[len(buf):cap(buf)])
		switch {
		case errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN):
			continue
		case err != nil:
			return nil, readError(what, err), true
		case m == 0:
			return buf, nil, true
		}
		buf = buf[:len(buf)+m]
		if int64(len(buf)) > limit {
			return nil, tooMuch(limit, what), true
		}
	}
}

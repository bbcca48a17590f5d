package testbin

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// WriteProgram writes content as a new executable file at path (whatever
// was there is unlinked first, so another hard link to it keeps its
// bytes). It holds off this process's forks meanwhile: a child forked
// while the file is open for writing keeps it so until that child execs,
// and running the file then fails with "text file busy" (ETXTBSY), as
// parallel tests' did.
func WriteProgram(path string, content []byte) error {
	return writeProgram(path, bytes.NewReader(content))
}

// CopyProgram copies the executable file from to to, as WriteProgram.
func CopyProgram(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	return writeProgram(to, src)
}

func writeProgram(path string, r io.Reader) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

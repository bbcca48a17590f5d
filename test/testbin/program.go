package testbin

import (
	"io"
	"os"
	"syscall"
)

// WriteProgram writes an executable file at path from r, holding off this
// process's forks meanwhile: a child forked while the file is open for
// writing keeps it so until that child execs, and running the file then
// fails with "text file busy" (ETXTBSY), as parallel tests' did.
func WriteProgram(path string, r io.Reader) error {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// CopyProgram copies the executable file from to to (WriteProgram).
func CopyProgram(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	return WriteProgram(to, src)
}

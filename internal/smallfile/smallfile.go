// Package smallfile reads the small files gcrcred takes settings and secrets
// from (credentials, workload identity configurations, gcloud's and
// Docker's configuration): whole, bounded in size, and never blocking on a
// FIFO or a device, which os.ReadFile would (a named pipe put where a
// credentials file is expected would hang the kubelet's plugin).
package smallfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Options change how a file is opened.
type Options struct {
	// NoFollow refuses a symbolic link in place of the file.
	NoFollow bool
}

// TypeName says what a file that is not a regular file is, for messages.
func TypeName(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file"
}

// Open opens path for reading without blocking, and checks on the opened
// file that it is a regular file; what names it in errors ("credentials
// file"). A missing or unreadable file keeps fs.ErrNotExist or
// fs.ErrPermission in the error's chain.
func Open(path, what string, o Options) (*os.File, fs.FileInfo, error) {
	f, err := open(path, what, o)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("reading %s %s: %w", what, path, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s %s is %s, not a regular file: point gcrcred at the file itself", what, path, TypeName(fi.Mode()))
	}
	return f, fi, nil
}

// ReadAll reads what remains of f, at most max bytes.
func ReadAll(f *os.File, max int64, what string) ([]byte, error) {
	return readAll(f, statSize(f), max, what)
}

// readAll is ReadAll of a file whose size is known (known, or 0 if not).
func readAll(f *os.File, known, max int64, what string) ([]byte, error) {
	b, err := readUpTo(f, known, max+1)
	if err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", what, f.Name(), err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s %s is larger than %s: not a %s gcrcred reads", what, f.Name(), size(max), what)
	}
	return b, nil
}

// Read reads the regular file at path, at most max bytes.
func Read(path string, max int64, what string) ([]byte, error) {
	f, fi, err := Open(path, what, Options{})
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAll(f, fi.Size(), max, what) // Open has just looked: no second fstat on the warm path
}

// ReadUpTo reads what remains of f, at most n bytes, into a buffer sized
// from f's size (by hand, not io.ReadAll: its doubling reads a plugin
// binary of several MiB through a dozen growing copies, which dominated
// what a node install cost).
func ReadUpTo(f *os.File, n int64) ([]byte, error) {
	return readUpTo(f, statSize(f), n)
}

// statSize is f's size if it is a regular file, else 0 (unknown).
func statSize(f *os.File) int64 {
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		return fi.Size()
	}
	return 0
}

// readUpTo is ReadUpTo with f's size known (0: unknown, as /proc files say).
func readUpTo(f *os.File, known, n int64) ([]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	room := int64(512)
	if known > 0 {
		room = known + 1 // +1: the end of the file is seen without growing
	}
	b := make([]byte, 0, min(room, n))
	r := io.LimitReader(f, n)
	for int64(len(b)) < n {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // a file that grew since Stat
		}
		m, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
}

func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

package launcher

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gcrcred/gcrcred/internal/atomicfile"
	"github.com/gcrcred/gcrcred/internal/tokenstore"
)

// execFull replaces this process with the embedded full program, keeping
// argv (argv[0] decides docker-credential-* dispatch) and the environment.
// When stdin was consumed, the full program gets those same bytes as stdin.
func execFull(argv []string, input []byte, consumed bool) error {
	if len(payload) == 0 {
		return errors.New("this build carries no full program (build with `make build`)")
	}
	if consumed {
		if err := replaceStdin(input); err != nil {
			return fmt.Errorf("passing stdin on: %w", err)
		}
	}
	// An anonymous in-memory file needs no writable directory and leaves
	// nothing behind. Kernels or sandboxes without memfd_create/execveat get
	// a copy in the user's cache directory instead.
	err := execMemfd(argv)
	if ferr := execFromFile(argv); ferr != nil {
		return fmt.Errorf("%v; and from a file: %v", err, ferr)
	}
	return nil
}

func replaceStdin(input []byte) error {
	fd, err := unix.MemfdCreate("gcrcred-stdin", 0)
	if err != nil {
		return err
	}
	if _, err := unix.Write(fd, input); err != nil && len(input) > 0 {
		return err
	}
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		return err
	}
	if err := unix.Dup2(fd, 0); err != nil {
		return err
	}
	return unix.Close(fd)
}

func execMemfd(argv []string) error {
	fd, err := unix.MemfdCreate("gcrcred", unix.MFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("memfd_create: %w", err)
	}
	defer unix.Close(fd)
	for b := payload; len(b) > 0; {
		n, err := unix.Write(fd, b)
		if err != nil {
			return fmt.Errorf("writing the full program: %w", err)
		}
		b = b[n:]
	}
	argvp, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return err
	}
	envp, err := syscall.SlicePtrFromStrings(os.Environ())
	if err != nil {
		return err
	}
	empty, _ := unix.BytePtrFromString("")
	_, _, errno := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(fd), uintptr(unsafe.Pointer(empty)),
		uintptr(unsafe.Pointer(&argvp[0])), uintptr(unsafe.Pointer(&envp[0])), unix.AT_EMPTY_PATH, 0)
	return fmt.Errorf("execveat: %w", errno)
}

func execFromFile(argv []string) error {
	sum := sha256.Sum256(payload)
	dir := tokenstore.DefaultDir()
	if err := tokenstore.EnsureDir(dir); err != nil {
		return err
	}
	path := filepath.Join(dir, "gcrcred-full-"+hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(path); err != nil {
		if err := atomicfile.WriteFile(path, payload, 0o700); err != nil {
			return err
		}
	}
	return syscall.Exec(path, argv, os.Environ())
}

package main

// Counting plugin executions without a shell: the kubelet code is given a bin
// dir of symlinks to this binary, one per executable in the real bin dir.
// Run under such a name, this binary records one execution and execs the real
// plugin with the same arguments, stdin and environment (minus its markers),
// so the plugin runs exactly as the kubelet would have run it.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Markers in the environment the kubelet code passes to plugins.
const (
	envRealBinDir = "KUBELET_LOOKUP_REAL_BIN_DIR"
	envCounter    = "KUBELET_LOOKUP_EXEC_COUNTER"
)

type execCounter struct {
	Dir  string // bin dir to register: symlinks to this binary
	file string // one line per execution
}

func newExecCounter(realBinDir string) (*execCounter, error) {
	realBinDir, err := filepath.Abs(realBinDir)
	if err != nil {
		return nil, err
	}
	self, err := selfPath()
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(realBinDir)
	if err != nil {
		// Let registration report a missing bin dir as the kubelet does.
		if errors.Is(err, os.ErrNotExist) {
			return &execCounter{Dir: realBinDir}, nil
		}
		return nil, fmt.Errorf("reading bin dir: %w", err)
	}
	dir, err := os.MkdirTemp("", "kubelet-lookup-")
	if err != nil {
		return nil, fmt.Errorf("temporary bin dir for counting execs (or use -count-execs=false): %w", err)
	}
	c := &execCounter{Dir: dir, file: filepath.Join(dir, ".execs")}
	for _, e := range entries {
		fi, err := os.Stat(filepath.Join(realBinDir, e.Name())) // follows symlinks
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			continue // the kubelet could not run it either
		}
		if err := os.Symlink(self, filepath.Join(dir, e.Name())); err != nil {
			c.Close()
			return nil, err
		}
	}
	os.Setenv(envRealBinDir, realBinDir)
	os.Setenv(envCounter, c.file)
	return c, nil
}

// Count is the number of plugin executions so far.
func (c *execCounter) Count() int {
	if c.file == "" {
		return 0
	}
	b, _ := os.ReadFile(c.file)
	return bytes.Count(b, []byte("\n"))
}

func (c *execCounter) Close() {
	if c.file != "" {
		os.RemoveAll(c.Dir)
	}
}

// selfPath finds this executable; without /proc (a bare chroot) an absolute
// argv[0] does.
func selfPath() (string, error) {
	if p, err := os.Executable(); err == nil {
		return p, nil
	}
	if filepath.IsAbs(os.Args[0]) {
		return os.Args[0], nil
	}
	return "", errors.New("cannot find this executable (no /proc?): run kubelet-lookup by its absolute path, or with -count-execs=false")
}

func wrapping() bool { return os.Getenv(envRealBinDir) != "" && os.Getenv(envCounter) != "" }

// wrapExec records one execution and becomes the real plugin.
func wrapExec() int {
	real := filepath.Join(os.Getenv(envRealBinDir), filepath.Base(os.Args[0]))
	if f, err := os.OpenFile(os.Getenv(envCounter), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err == nil {
		f.Write([]byte("exec\n"))
		f.Close()
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envRealBinDir+"=") && !strings.HasPrefix(kv, envCounter+"=") {
			env = append(env, kv)
		}
	}
	err := syscall.Exec(real, append([]string{real}, os.Args[1:]...), env)
	fmt.Fprintf(os.Stderr, "kubelet-lookup: exec %s: %v\n", real, err)
	return 1
}

//go:build linux

// Package systrace runs a program under ptrace, as strace -f does, and
// tells what its whole process tree executed (every exec, seen by the
// kernel's PTRACE_EVENT_EXEC) and the system calls a test asks for, with
// descriptors and paths decoded (fsync(5</dir/file>), rename("a", "b")). It
// is the tests' own: nothing needs installing. Root, or a kernel that lets
// a process trace its children (every Linux does by default).
//
// The tracer is a process of its own (the test binary run again, see
// init): ptrace's wait collects every child of the waiting process, and a
// test process has others (its fakes, parallel tests' programs).
package systrace

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Call is one system call, at its entry.
type Call struct {
	PID  int
	Name string
	Args []string // decoded: fd 5</path>, "string", AT_FDCWD, ["argv", ...], numbers
}

func (c Call) String() string { return fmt.Sprintf("%s(%s)", c.Name, strings.Join(c.Args, ", ")) }

// Result is what the traced tree did.
type Result struct {
	Stdout, Stderr []byte
	Code           int      // the program's exit status (128+N: killed by signal N)
	Execs          []string // every program the tree became, the first one included
	Calls          []Call   // the system calls asked for, in the order they were made
}

// Trace is Calls one a line, "PID name(args)", as strace -f -y prints them.
func (r *Result) Trace() string {
	var b strings.Builder
	for _, c := range r.Calls {
		fmt.Fprintf(&b, "%d %s\n", c.PID, c)
	}
	return b.String()
}

// Count is how many of Calls are named name.
func (r *Result) Count(name string) int {
	n := 0
	for _, c := range r.Calls {
		if c.Name == name {
			n++
		}
	}
	return n
}

// Options say how the traced program runs.
type Options struct {
	Env   []string // exactly this environment
	Dir   string
	Stdin string
	// Calls are the system calls to record, by name (execve, execveat,
	// memfd_create, fsync, fdatasync, rename, renameat, renameat2).
	Calls   []string
	Timeout time.Duration // 1 minute if zero; then the tree is killed
}

// request is what the tracer process is handed on its stdin.
type request struct {
	Argv                  []string
	Options               Options
	Stdin, Stdout, Stderr string // files for the traced program's stdio
	TimeoutNS             int64
	ResultFile            string
}

const envTracer = "GCRCRED_SYSTRACE_TRACER"

// Run runs argv under the tracer and returns what the tree did; it fails
// if the program could not be traced (not if it exited non-zero).
func Run(argv []string, o Options) (*Result, error) {
	for _, name := range o.Calls {
		if _, ok := signatures[name]; !ok {
			return nil, fmt.Errorf("systrace: %s is not a system call it decodes", name)
		}
	}
	if o.Timeout == 0 {
		o.Timeout = time.Minute
	}
	dir, err := os.MkdirTemp("", "systrace-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	req := request{Argv: argv, Options: o, TimeoutNS: int64(o.Timeout),
		Stdin: filepath.Join(dir, "stdin"), Stdout: filepath.Join(dir, "stdout"), Stderr: filepath.Join(dir, "stderr"),
		ResultFile: filepath.Join(dir, "result.json")}
	if err := os.WriteFile(req.Stdin, []byte(o.Stdin), 0o600); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(req)
	tracer := exec.Command(self)
	tracer.Env = []string{envTracer + "=1"}
	tracer.Stdin = bytes.NewReader(b)
	if out, err := tracer.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("systrace: the tracer failed: %v: %s", err, out)
	}
	var r Result
	rb, err := os.ReadFile(req.ResultFile)
	if err != nil {
		return nil, fmt.Errorf("systrace: no result from the tracer: %v", err)
	}
	if err := json.Unmarshal(rb, &r); err != nil {
		return nil, err
	}
	r.Stdout, _ = os.ReadFile(req.Stdout)
	r.Stderr, _ = os.ReadFile(req.Stderr)
	return &r, nil
}

// init makes the test binary the tracer when Run starts it so: it reads
// the request on stdin, traces, writes the result file and exits before
// any test runs.
func init() {
	if os.Getenv(envTracer) != "1" {
		return
	}
	if err := serve(); err != nil {
		fmt.Fprintln(os.Stderr, "systrace:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func serve() error {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		return err
	}
	if len(req.Argv) == 0 {
		return errors.New("nothing to run")
	}
	stdin, err := os.Open(req.Stdin)
	if err != nil {
		return err
	}
	defer stdin.Close()
	var out [2]*os.File
	for i, p := range []string{req.Stdout, req.Stderr} {
		if out[i], err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600); err != nil {
			return err
		}
		defer out[i].Close()
	}
	cmd := exec.Command(req.Argv[0], req.Argv[1:]...)
	cmd.Env, cmd.Dir = req.Options.Env, req.Options.Dir
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, out[0], out[1]
	r, err := trace(cmd, req.Options.Calls, time.Duration(req.TimeoutNS))
	if err != nil {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return os.WriteFile(req.ResultFile, b, 0o600)
}

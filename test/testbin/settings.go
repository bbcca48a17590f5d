package testbin

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/internal/endpoint"
	"github.com/gcrcred/gcrcred/internal/logx"
	"github.com/gcrcred/gcrcred/internal/settings"
)

// Settings are the settings of an in-process test of a front end, built
// from nothing as Env builds a process's environment (so a developer's
// exported GCRCRED_* never reaches a test): a private HOME, a cache dir
// and Docker config under it, an empty PATH directory (no gcloud, no
// docker-credential-gcrcred), GCE_METADATA_HOST on a closed loopback
// port, a 2 s GCRCRED_TIMEOUT (the fakes answer in milliseconds; back-offs shrink with it), then kv (KEY=VALUE, later wins). It also
// turns the endpoint test switch on for the test process, as
// GCRCRED_TEST_LOOPBACK_ENDPOINTS=1 does for a process: the fakes are on
// 127.0.0.1.
func Settings(t testing.TB, kv ...string) settings.Settings {
	t.Helper()
	env := baseEnv(t, t.TempDir(), "2s")
	s := settings.Parse(Merge(env, kv...), settings.Host{GOOS: runtime.GOOS, EUID: os.Geteuid(), TempDir: t.TempDir()})
	endpoint.SetTestLoopback(s.TestLoopbackEndpoints)
	return s
}

// InEnv is Env for a front end run in-process (InProcess): the same
// variables, built from nothing, but PATH holds no binary, only a stub
// docker-credential-gcrcred (so doctor finds Docker's helper on PATH;
// nothing runs it), and nothing is built.
func InEnv(t testing.TB, extra ...string) []string {
	t.Helper()
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-gcrcred"), []byte("#!/bin/sh\nexit 99\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return Merge(baseEnv(t, bin, "2s"), extra...)
}

// inProcess serialises in-process runs: the log level and output and the
// endpoint test switch are the process's (main sets them once), so one
// run at a time has them.
var inProcess sync.Mutex

// Frontend is a front end as main calls it: settings read from the
// environment, the streams, an exit code.
type Frontend func(s settings.Settings, stdin io.Reader, stdout, stderr io.Writer) int

// InProcess runs a front end in the test process as main would run it in
// its own: settings parsed from env (built from nothing: InEnv), logs to
// its stderr at the level env says, the endpoint test switch as env says.
func InProcess(t testing.TB, env []string, stdin []byte, run Frontend) Result {
	t.Helper()
	s := settings.Parse(env, settings.Host{GOOS: runtime.GOOS, EUID: os.Geteuid(), TempDir: t.TempDir()})
	var out, errb bytes.Buffer
	inProcess.Lock()
	defer inProcess.Unlock()
	logx.Setup(&errb, s.Debug)
	endpoint.SetTestLoopback(s.TestLoopbackEndpoints)
	defer func() { logx.Setup(os.Stderr, false); endpoint.SetTestLoopback(true) }()
	start := time.Now()
	code := run(s, bytes.NewReader(stdin), &out, &errb)
	return Result{Stdout: out.String(), Stderr: errb.String(), Code: code, Took: time.Since(start)}
}

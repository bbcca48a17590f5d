package testbin

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gcrcred/gcrcred/internal/endpoint"
	"github.com/gcrcred/gcrcred/internal/settings"
)

// Settings are the settings of an in-process test of a front end, built
// from nothing as Env builds a process's environment (so a developer's
// exported GCRCRED_* never reaches a test): a private HOME, a cache dir
// and Docker config under it, an empty PATH directory (no gcloud, no
// docker-credential-gcrcred), GCE_METADATA_HOST on a closed loopback
// port, a 5 s GCRCRED_TIMEOUT, then kv (KEY=VALUE, later wins). It also
// turns the endpoint test switch on for the test process, as
// GCRCRED_TEST_LOOPBACK_ENDPOINTS=1 does for a process: the fakes are on
// 127.0.0.1.
func Settings(t testing.TB, kv ...string) settings.Settings {
	t.Helper()
	home := t.TempDir()
	env := []string{
		"PATH=" + t.TempDir(),
		"HOME=" + home,
		"GCRCRED_CACHE_DIR=" + filepath.Join(home, "cache"),
		"GCE_METADATA_HOST=" + ClosedLoopbackAddr(t),
		"DOCKER_CONFIG=" + filepath.Join(home, ".docker"),
		"GCRCRED_TIMEOUT=5s",
		endpoint.EnvTestLoopback + "=1",
	}
	s := settings.Parse(Merge(env, kv...), settings.Host{GOOS: runtime.GOOS, EUID: os.Geteuid(), TempDir: t.TempDir()})
	endpoint.SetTestLoopback(s.TestLoopbackEndpoints)
	return s
}

package settings_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/internal/endpoint"
	"github.com/gcrcred/gcrcred/internal/settings"
)

var linux = settings.Host{GOOS: "linux", EUID: 1000, TempDir: "/tmp"}

func TestPathsFollowTheVariables(t *testing.T) {
	for _, c := range []struct {
		name                     string
		env                      []string
		host                     settings.Host
		cache, logins, docker, g string
	}{
		{"HOME only", []string{"HOME=/h"}, linux, "/h/.cache/gcrcred", "/h/.config/gcrcred/logins", "/h/.docker/config.json", "/h/.config/gcloud"},
		{"XDG", []string{"HOME=/h", "XDG_CACHE_HOME=/xc", "XDG_CONFIG_HOME=/xf"}, linux, "/xc/gcrcred", "/xf/gcrcred/logins", "/h/.docker/config.json", "/h/.config/gcloud"},
		{"gcrcred's own", []string{"HOME=/h", "XDG_CACHE_HOME=/xc", "GCRCRED_CACHE_DIR=/c", "GCRCRED_CONFIG_DIR=/f", "DOCKER_CONFIG=/d", "CLOUDSDK_CONFIG=/g"}, linux, "/c", "/f/logins", "/d/config.json", "/g"},
		{"no HOME, root (the kubelet)", nil, settings.Host{GOOS: "linux", EUID: 0}, "/var/cache/gcrcred", "", ".docker/config.json", ""},
		{"no HOME, a user", nil, linux, "/tmp/gcrcred-1000", "", ".docker/config.json", ""},
		{"Windows", []string{"USERPROFILE=/u", "APPDATA=/r", "LOCALAPPDATA=/l"}, settings.Host{GOOS: "windows", EUID: -1},
			filepath.Join("/l", "gcrcred"), filepath.Join("/r", "gcrcred", "logins"), filepath.Join("/u", ".docker", "config.json"), filepath.Join("/r", "gcloud")},
	} {
		s := settings.Parse(c.env, c.host)
		if s.CacheDir != c.cache || s.LoginsDir != c.logins || s.DockerConfig != c.docker || s.GcloudDir != c.g {
			t.Errorf("%s: cache %q logins %q docker %q gcloud %q; want %q %q %q %q", c.name, s.CacheDir, s.LoginsDir, s.DockerConfig, s.GcloudDir, c.cache, c.logins, c.docker, c.g)
		}
	}
}

func TestValuesAreParsed(t *testing.T) {
	s := settings.Parse([]string{"GCRCRED_SCOPES=a, b,c", "GCRCRED_TIMEOUT=3s", "GCRCRED_AUTH=json-key", "GCRCRED_LOG=DEBUG", "GCRCRED_TEST_LOOPBACK_ENDPOINTS=1", "GCRCRED_TIMEOUT=4s"}, linux)
	if !slices.Equal(s.Scopes, []string{"a", "b", "c"}) || s.Limits.Mint() != 3*time.Second || !s.JSONKey || !s.Debug || !s.TestLoopbackEndpoints {
		t.Fatalf("%+v", s)
	}
	for v, want := range map[string]time.Duration{"": 20 * time.Second, "soon": 20 * time.Second, "-1s": 20 * time.Second, "1h": 22 * time.Second, "500ms": 500 * time.Millisecond} {
		if got := settings.ParseTimeout(v); got != want {
			t.Errorf("GCRCRED_TIMEOUT=%q: %s, want %s", v, got, want)
		}
	}
	d := settings.Parse(nil, linux)
	if !slices.Equal(d.Scopes, []string{settings.DefaultScope}) || d.JSONKey || d.Debug || d.TestLoopbackEndpoints || d.Limits.Mint() != 20*time.Second {
		t.Fatalf("defaults: %+v", d)
	}
	if settings.EnvTestLoopback != endpoint.EnvTestLoopback {
		t.Fatal("the test switch has two names")
	}
}

// TestParseReadsOnlyWhatItIsGiven: the value comes from the environ passed,
// never from the process's own environment.
func TestParseReadsOnlyWhatItIsGiven(t *testing.T) {
	t.Setenv("GCRCRED_CREDENTIALS", "/leaked.json")
	t.Setenv("HOME", "/leaked-home")
	if s := settings.Parse([]string{"HOME=/h"}, linux); s.Credentials != "" || s.Home != "/h" {
		t.Fatalf("Parse read the process environment: %+v", s)
	}
	if s := settings.FromProcess(); s.Credentials != "/leaked.json" {
		t.Fatalf("FromProcess did not read it: %q", s.Credentials)
	}
}

func TestLookPathSearchesTheSettingsPath(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "gcloud"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "plain"), []byte("x"), 0o644)
	s := settings.Settings{Path: "relative:" + dir}
	if got := s.LookPath("gcloud"); got != filepath.Join(dir, "gcloud") {
		t.Fatalf("LookPath = %q", got)
	}
	if s.LookPath("plain") != "" || s.LookPath("sh") != "" || (settings.Settings{}).LookPath("gcloud") != "" {
		t.Fatal("found a file that is not executable, or one outside the PATH given")
	}
}

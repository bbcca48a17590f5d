package dockerconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/internal/settings"
	"github.com/gcrcred/gcrcred/test/wintest"
)

// TestEditUnderUserProfile: with no DOCKER_CONFIG, Docker's config is
// %USERPROFILE%\.docker\config.json; an edit keeps what else it holds and
// replaces the file whole.
func TestEditUnderUserProfile(t *testing.T) {
	profile := wintest.TempDir(t)
	path := settings.Parse([]string{"USERPROFILE=" + profile}, settings.Host{GOOS: "windows"}).DockerConfig
	if want := filepath.Join(profile, ".docker", "config.json"); path != want {
		t.Fatalf("Path = %q, want %q", path, want)
	}
	os.MkdirAll(filepath.Dir(path), 0o700)
	if err := os.WriteFile(path, []byte(`{"auths":{"example.com":{}},"credsStore":"wincred"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	changed, err := Edit(path, func(m map[string]string) []string { m["gcr.io"] = HelperName; return []string{"gcr.io"} })
	if err != nil || len(changed) != 1 {
		t.Fatalf("Edit = %v, %v", changed, err)
	}
	b, _ := os.ReadFile(path)
	for _, want := range []string{`"credsStore": "wincred"`, `"example.com"`, `"gcr.io": "gcrcred"`} {
		if !strings.Contains(string(b), want) {
			t.Fatalf("config lacks %s:\n%s", want, b)
		}
	}
	helpers, err := CredHelpers(path)
	if err != nil || helpers["gcr.io"] != HelperName {
		t.Fatalf("CredHelpers = %v, %v", helpers, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
}

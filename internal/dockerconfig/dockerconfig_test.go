//go:build !windows

package dockerconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func addGcr(m map[string]string) []string {
	if m["gcr.io"] == HelperName {
		return nil
	}
	m["gcr.io"] = HelperName
	return []string{"gcr.io"}
}

func TestEditKeepsTheRestOfTheFileAndItsMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	before := `{
	"auths": {"https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNz"}},
	"zeta": 1, "credsStore": "desktop", "alpha": [1, 2.50, {"nested": true}],
	"credHelpers": {"123.dkr.ecr.us-east-1.amazonaws.com": "ecr-login"}
}`
	os.WriteFile(path, []byte(before), 0o640)
	changed, err := Edit(path, addGcr)
	if err != nil || len(changed) != 1 {
		t.Fatalf("Edit = %v, %v", changed, err)
	}
	b, _ := os.ReadFile(path)
	got := string(b)
	for _, want := range []string{`"zeta": 1`, `2.50`, `"credsStore": "desktop"`, `"ecr-login"`, `"gcr.io": "gcrcred"`, `"dXNlcjpwYXNz"`} {
		if !strings.Contains(got, want) {
			t.Errorf("after the edit the file lacks %s:\n%s", want, got)
		}
	}
	if strings.Index(got, `"zeta"`) > strings.Index(got, `"alpha"`) {
		t.Errorf("keys were reordered:\n%s", got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the file's 0640", fi.Mode().Perm())
	}
	if changed, err := Edit(path, addGcr); err != nil || len(changed) != 0 {
		t.Fatalf("a second edit changed %v, %v", changed, err)
	}
	if h, err := CredHelpers(path); err != nil || h["gcr.io"] != HelperName || h["123.dkr.ecr.us-east-1.amazonaws.com"] != "ecr-login" {
		t.Fatalf("CredHelpers = %v, %v", h, err)
	}
	r, err := RouteFor(path, "gcr.io")
	if err != nil || r.Helper != HelperName || r.By != "credHelpers" {
		t.Fatalf("RouteFor(gcr.io) = %+v, %v", r, err)
	}
	if r, _ := RouteFor(path, "ghcr.io"); r.Helper != "desktop" || r.By != "credsStore" {
		t.Fatalf("RouteFor(ghcr.io) = %+v, want the credsStore", r)
	}
}

func TestEditMakesAPrivateFileAndRefusesBrokenOnes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".docker")
	path := filepath.Join(dir, "config.json")
	if _, err := Edit(path, addGcr); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("new file mode %v, want 0600", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("new directory mode %v, want 0700", fi.Mode().Perm())
	}
	for name, body := range map[string]string{
		"truncated":           `{"auths": `,
		"credHelpers a list":  `{"credHelpers": ["gcr.io"]}`,
		"not an object":       `[1, 2]`,
		"helper not a string": `{"credHelpers": {"gcr.io": 1}}`,
	} {
		os.WriteFile(path, []byte(body), 0o600)
		if _, err := Edit(path, addGcr); err == nil {
			t.Errorf("%s: edited", name)
		}
		if b, _ := os.ReadFile(path); string(b) != body {
			t.Errorf("%s: the broken file was rewritten", name)
		}
	}
}

func TestLinkedConfigIsFollowedOnlyToTheOwnersFiles(t *testing.T) {
	home := t.TempDir()
	dotfiles := filepath.Join(home, "dotfiles")
	os.Mkdir(dotfiles, 0o700)
	os.WriteFile(filepath.Join(dotfiles, "config.json"), []byte(`{"auths":{}}`), 0o600)
	os.Mkdir(filepath.Join(home, ".docker"), 0o700)
	link := filepath.Join(home, ".docker", "config.json")
	os.Symlink(filepath.Join(dotfiles, "config.json"), link)
	if _, err := Edit(link, addGcr); err != nil {
		t.Fatalf("a dotfiles link of the same owner: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dotfiles, "config.json")); !strings.Contains(string(b), `"gcr.io": "gcrcred"`) {
		t.Fatalf("the link's target was not edited:\n%s", b)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the link was replaced by a file")
	}
	dangling := filepath.Join(t.TempDir(), ".docker")
	os.Symlink(filepath.Join(home, "nowhere"), dangling)
	if _, err := Edit(filepath.Join(dangling, "config.json"), addGcr); err == nil || !strings.Contains(err.Error(), "leads nowhere") {
		t.Fatalf("a dangling config directory link: %v", err)
	}
}

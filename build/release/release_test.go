package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/test/testbin"
)

// repoFile is a file of the repository (tests run in build/release).
func repoFile(name string) string { return filepath.Join(testbin.Root(), name) }

// TestPlatformsComeFromGoreleaserYAML: the one platform list is
// .goreleaser.yaml's, and it is the six the README promises.
func TestPlatformsComeFromGoreleaserYAML(t *testing.T) {
	cfg, err := loadConfig(repoFile(".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range cfg.Platforms() {
		got = append(got, p.String())
	}
	want := "darwin/amd64 darwin/arm64 linux/amd64 linux/arm64 windows/amd64 windows/arm64"
	if strings.Join(got, " ") != want {
		t.Fatalf("platforms %v, want %s", got, want)
	}
	for _, c := range []struct {
		p    platform
		want string
	}{
		{platform{"linux", "arm64"}, "LICENSE README.md docker-credential-gcrcred(link) gcrcred"},
		{platform{"darwin", "amd64"}, "LICENSE README.md docker-credential-gcrcred(link) gcrcred"},
		{platform{"windows", "amd64"}, "LICENSE README.md docker-credential-gcrcred.exe gcrcred.exe"},
	} {
		var names []string
		for _, a := range cfg.Archives {
			if !contains(platformStrings(cfg.platformsOf(a.IDs)), c.p.String()) {
				continue
			}
			entries, err := cfg.entries(a, c.p, testbin.Root())
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				n := e.Name
				if e.Symlink {
					n += "(link)"
				}
				names = append(names, n)
			}
		}
		if strings.Join(names, " ") != c.want {
			t.Errorf("%s archive holds %v, want %s", c.p, names, c.want)
		}
	}
}

// TestConfigOutsideWhatBuildReleaseDoesIsRefused: a change to
// .goreleaser.yaml that build/release would not reproduce is an error, not
// a silently different snapshot.
func TestConfigOutsideWhatBuildReleaseDoesIsRefused(t *testing.T) {
	orig, err := os.ReadFile(repoFile(".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ from, to, want string }{
		{`name_template: "{{ .ProjectName }}_{{ .Version }}_{{ .Os }}_{{ .Arch }}"`, `name_template: "{{ .ProjectName }}_{{ .Os }}"`, "name_template must be"},
		{"- src: LICENSE", "- src: LICENSE*", "glob or template"},
		{"name_template: SHA256SUMS", "name_template: checksums.txt", "checksum must be"},
		{"ldflags: [-s -w]", `ldflags: ["-X main.v={{ .Version }}"]`, "is a template"},
		{"formats: [zip]", "formats: [tar.xz]", "formats must be"},
	} {
		changed := strings.Replace(string(orig), c.from, c.to, 1)
		if changed == string(orig) {
			t.Fatalf("%q is not in .goreleaser.yaml", c.from)
		}
		f := filepath.Join(t.TempDir(), "g.yaml")
		os.WriteFile(f, []byte(changed), 0o644)
		if _, err := loadConfig(f); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s -> %s: %v, want an error with %q", c.from, c.to, err, c.want)
		}
	}
}

func platformStrings(ps []platform) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

// TestArchivesAreReproducible: the same members give the same bytes,
// whatever the source files' times; tar keeps the link, zip refuses one.
func TestArchivesAreReproducible(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "gcrcred")
	os.WriteFile(bin, []byte("\x7fELF program"), 0o755)
	lic := filepath.Join(dir, "LICENSE")
	os.WriteFile(lic, []byte("license"), 0o600)
	members := []member{
		{Name: "LICENSE", Path: lic, Mode: 0o644},
		{Name: "docker-credential-gcrcred", Linkname: "gcrcred"},
		{Name: "gcrcred", Path: bin, Mode: 0o755},
	}
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, format := range []string{"tar.gz", "zip"} {
		ms := members
		if format == "zip" {
			ms = []member{members[0], members[2]}
		}
		a, b := filepath.Join(dir, "a."+format), filepath.Join(dir, "b."+format)
		if err := writeArchive(a, format, ms, when); err != nil {
			t.Fatal(err)
		}
		later := time.Now().Add(time.Hour)
		os.Chtimes(bin, later, later)
		if err := writeArchive(b, format, ms, when); err != nil {
			t.Fatal(err)
		}
		da, _ := os.ReadFile(a)
		db, _ := os.ReadFile(b)
		if !bytes.Equal(da, db) {
			t.Errorf("%s: two writes of the same members differ", format)
		}
		got, err := readArchive(a, filepath.Join(dir, "x-"+format))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ms) || got["gcrcred"].Mode != 0o755 || got["LICENSE"].Mode != 0o644 {
			t.Errorf("%s: read back %+v", format, got)
		}
		if format == "tar.gz" && got["docker-credential-gcrcred"].Linkname != "gcrcred" {
			t.Errorf("tar.gz: the link is %+v", got["docker-credential-gcrcred"])
		}
	}
	if err := writeArchive(filepath.Join(dir, "c.zip"), "zip", members, when); err == nil {
		t.Error("a zip with a symbolic link was written")
	}
}

// testRelease writes a one-platform release (this machine's linux
// platform) of the gcrcred that testbin built into a new directory, with
// the repository's .goreleaser.yaml cut down to that platform.
func testRelease(t *testing.T) (*config, string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the test release is a linux one")
	}
	orig, err := os.ReadFile(repoFile(".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	one := strings.NewReplacer("goos: [linux, darwin]", "goos: [linux]", "goarch: [amd64, arm64]", "goarch: ["+runtime.GOARCH+"]").Replace(string(orig))
	f := filepath.Join(t.TempDir(), "g.yaml")
	os.WriteFile(f, []byte(one), 0o644)
	cfg, err := loadConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Archives = cfg.Archives[:1] // the unix one
	program := filepath.Join(testbin.Build(t), "gcrcred")
	build := func(context.Context, buildConfig, platform) (string, error) { return program, nil }
	out := filepath.Join(t.TempDir(), "release")
	src := &source{Dir: testbin.Root(), Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if _, err := buildRelease(context.Background(), cfg, src, build, out); err != nil {
		t.Fatal(err)
	}
	return cfg, out
}

// TestCheckPassesAndCatchesTampering: the check accepts a release as
// built, runs its binary, and refuses one with a changed archive, a
// checksum for a file that is not there, or an SBOM missing a module.
func TestCheckPassesAndCatchesTampering(t *testing.T) {
	cfg, out := testRelease(t)
	readme := filepath.Join(t.TempDir(), "README.md")
	os.WriteFile(readme, []byte("Each archive holds `gcrcred`, `docker-credential-gcrcred` (a link), `LICENSE` and `README.md`.\n"), 0o644)
	opts := checkOptions{root: testbin.Root(), readme: readme}
	var log bytes.Buffer
	if err := check(context.Background(), cfg, out, opts, &log); err != nil {
		t.Fatalf("the release as built fails the check: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "ran `version` under both names") {
		t.Fatalf("the linux binary was not run:\n%s", log.String())
	}
	sums, _ := readChecksums(out)
	archive, _ := findArchive(sums, "gcrcred", platform{"linux", runtime.GOARCH}, "tar.gz")
	cases := []struct {
		name, want string
		tamper     func(dir string)
	}{
		{"a changed archive", "says", func(dir string) {
			f, _ := os.OpenFile(filepath.Join(dir, archive), os.O_WRONLY|os.O_APPEND, 0)
			f.Write([]byte("x"))
			f.Close()
		}},
		{"an unlisted file", "is not in SHA256SUMS", func(dir string) {
			os.WriteFile(filepath.Join(dir, "extra.tar.gz"), nil, 0o644)
		}},
		{"an SBOM without a module", "does not list the linked module", func(dir string) {
			p := filepath.Join(dir, archive+".sbom.json")
			b, _ := os.ReadFile(p)
			b = bytes.Replace(b, []byte(`"name": "golang.org/x/oauth2"`), []byte(`"name": "example.com/other"`), 1)
			os.WriteFile(p, b, 0o644)
			writeChecksums(dir, []string{archive, archive + ".sbom.json"})
		}},
		{"an archive without LICENSE", "holds [README.md docker-credential-gcrcred gcrcred], want [LICENSE", func(dir string) {
			x := filepath.Join(dir, "x")
			got, _ := readArchive(filepath.Join(dir, archive), x)
			var ms []member
			for _, n := range []string{"README.md", "docker-credential-gcrcred", "gcrcred"} {
				ms = append(ms, got[n])
			}
			writeArchive(filepath.Join(dir, archive), "tar.gz", ms, time.Unix(0, 0))
			os.RemoveAll(x)
			writeChecksums(dir, []string{archive, archive + ".sbom.json"})
		}},
	}
	for _, c := range cases {
		dir := filepath.Join(t.TempDir(), "r")
		copyDir(t, out, dir)
		c.tamper(dir)
		if err := check(context.Background(), cfg, dir, opts, io.Discard); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: check says %v, want an error with %q", c.name, err, c.want)
		}
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	os.MkdirAll(to, 0o755)
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(to, e.Name()), b, 0o644)
	}
}

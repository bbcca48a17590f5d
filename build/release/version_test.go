package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/internal/version"
	"github.com/gcrcred/gcrcred/test/testbin"
)

// TestTaggedCommitSaysItsTag: a release build of a commit tagged v1.2.3
// says "gcrcred v1.2.3 (commit C, built T, ...)" with C and T that commit's,
// both when it runs (`gcrcred version`) and when read from the file (what
// the installers' plans print). The tag is made in a clone, never in the
// repository under test. (A v2+ tag would be ignored: Go's semantic import
// versioning ties v2 and up to a /v2 module path.)
func TestTaggedCommitSaysItsTag(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("builds and runs a linux binary")
	}
	root := testbin.Root()
	_, err := os.Stat(filepath.Join(root, ".git"))
	testbin.Need(t, err == nil, "this test builds a release from the repository's git history; "+root+" is not a git checkout")
	t.Setenv("PATH", testbin.Tools(t, "git", "go"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	tagged := filepath.Join(t.TempDir(), "tagged")
	git := func(dir string, args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git(root, "clone", "--quiet", "--shared", root, tagged)
	git(tagged, "-c", "user.name=t", "-c", "user.email=t@example.com", "tag", "-a", "-m", "release", "v1.2.3")
	commit := git(tagged, "rev-parse", "HEAD")
	when := git(tagged, "show", "-s", "--format=%cI", "HEAD")

	src, err := checkout(ctx, tagged, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(repoFile(".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bl := &builder{src: src, out: t.TempDir(), done: map[string]string{}, log: io.Discard}
	bin, err := bl.build(ctx, cfg.Builds[0], platform{"linux", runtime.GOARCH})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "version")
	cmd.Env, cmd.Stdout = []string{}, &out
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	said := strings.TrimSpace(out.String())
	date, _ := time.Parse(time.RFC3339, when)
	want := "gcrcred v1.2.3 (commit " + commit[:12] + ", built " + date.UTC().Format(time.RFC3339) + ", "
	if !strings.HasPrefix(said, want) {
		t.Fatalf("`gcrcred version` says %q, want %q...", said, want)
	}
	read, err := version.OfFile(bin)
	if err != nil || read != said {
		t.Fatalf("the file's build information says %q (%v), the program %q", read, err, said)
	}
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// source is the commit a release is built from, checked out on its own.
type source struct {
	Dir    string    // a clone of the repository at Commit
	Commit string    // full hash
	Time   time.Time // the commit's time: every file time in the archives
	Dirty  bool      // the working tree had changes that are not in it
}

// checkout clones the repository holding dir and checks out its HEAD into
// tmp. Building from a clean clone of the commit, not the working tree,
// is what makes the same commit give the same bytes; and Go records the
// version only from a real .git directory (not a `git worktree`'s .git
// file), so the clone also gives every build its tag or pseudo-version.
func checkout(ctx context.Context, dir, tmp string) (*source, error) {
	git := func(dir string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
		}
		return strings.TrimSpace(out.String()), nil
	}
	common, err := git(dir, "rev-parse", "--path-format=absolute", "--git-common-dir")
	if err != nil {
		return nil, fmt.Errorf("%s is not in a git repository (a release is built from a commit): %v", dir, err)
	}
	s := &source{Dir: filepath.Join(tmp, "src")}
	if s.Commit, err = git(dir, "rev-parse", "HEAD"); err != nil {
		return nil, err
	}
	status, err := git(dir, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return nil, err
	}
	s.Dirty = status != ""
	when, err := git(dir, "show", "-s", "--format=%ct", "HEAD")
	if err != nil {
		return nil, err
	}
	secs, err := strconv.ParseInt(when, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("the commit time %q: %v", when, err)
	}
	s.Time = time.Unix(secs, 0).UTC()
	if _, err := git(tmp, "clone", "--quiet", "--shared", "--no-checkout", common, s.Dir); err != nil {
		return nil, err
	}
	if _, err := git(s.Dir, "checkout", "--quiet", "--detach", s.Commit); err != nil {
		return nil, err
	}
	return s, nil
}

// buildKey is what decides a build's bytes: equal keys give equal files.
func buildKey(b buildConfig, p platform) string {
	return strings.Join([]string{b.Main, strings.Join(b.Env, " "), strings.Join(b.Flags, " "),
		strings.Join(b.Ldflags, " "), p.String(), strings.Join(b.Goamd64, ","), strings.Join(b.Goarm64, ",")}, "|")
}

// builder runs `go build` as the config says, once per distinct build.
type builder struct {
	src  *source
	out  string            // where binaries are written
	done map[string]string // buildKey -> file
	log  io.Writer
}

// build compiles b for p and returns the binary's path.
func (bl *builder) build(ctx context.Context, b buildConfig, p platform) (string, error) {
	key := buildKey(b, p)
	if f, ok := bl.done[key]; ok {
		return f, nil // the same program (Docker's name for it on Windows)
	}
	file := filepath.Join(bl.out, b.ID+"_"+p.OS+"_"+p.Arch, p.exe(b.Binary))
	args := append([]string{"build"}, b.Flags...)
	if len(b.Ldflags) > 0 {
		args = append(args, "-ldflags="+strings.Join(b.Ldflags, " "))
	}
	args = append(args, "-o", file, b.Main)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = bl.src.Dir
	cmd.Env = append(os.Environ(), b.Env...)
	cmd.Env = append(cmd.Env, "GOOS="+p.OS, "GOARCH="+p.Arch)
	if len(b.Goamd64) > 0 {
		cmd.Env = append(cmd.Env, "GOAMD64="+b.Goamd64[0])
	}
	if len(b.Goarm64) > 0 {
		cmd.Env = append(cmd.Env, "GOARM64="+b.Goarm64[0])
	}
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s for %s: %v\n%s", strings.Join(args, " "), p, err, out)
	}
	fmt.Fprintf(bl.log, "  built %-16s %s (%.1fs)\n", p, filepath.Base(file), time.Since(start).Seconds())
	bl.done[key] = file
	return file, nil
}

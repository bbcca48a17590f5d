package version

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	build := func(v string, settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/gcrcred/gcrcred", Version: v}}
		for i := 0; i+1 < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	for _, c := range []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"a tagged commit", build("v1.2.3", "vcs.revision", "0123456789abcdef0123", "vcs.time", "2026-12-07T03:19:18Z", "vcs.modified", "false", "GOOS", "linux", "GOARCH", "arm64"),
			"gcrcred v1.2.3 (commit 0123456789ab, built 2026-12-07T03:19:18Z, go1.26.8 linux/arm64)"},
		{"between tags, uncommitted changes", build("v1.2.4-0.20261207031918-0123456789ab+dirty", "vcs.revision", "0123456789abcdef0123", "vcs.time", "2026-12-07T03:19:18Z", "vcs.modified", "true", "GOOS", "windows", "GOARCH", "amd64"),
			"gcrcred v1.2.4-0.20261207031918-0123456789ab+dirty (commit 0123456789ab-dirty, built 2026-12-07T03:19:18Z, go1.26.8 windows/amd64)"},
		{"no git (a worktree, a tarball)", build("(devel)", "GOOS", "darwin", "GOARCH", "arm64"),
			"gcrcred devel (commit unknown, built unknown, go1.26.8 darwin/arm64)"},
		{"nothing recorded", nil, "gcrcred devel (commit unknown, built unknown, unknown unknown/unknown)"},
	} {
		if got := fromBuildInfo(c.bi).String(); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

// Package version says which gcrcred this is: what `make build` stamps into
// the binary, or else what the Go toolchain recorded (`go build`,
// `go install ...@version`), so every build can say where it came from.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set with -ldflags "-X github.com/gcrcred/gcrcred/internal/version.version=..." etc.
var (
	version = ""
	commit  = ""
	date    = ""
)

// Version is the release or `git describe` of this build ("devel" if unknown).
func Version() string {
	v, _, _ := info()
	return v
}

// String is the one-line version report.
func String() string {
	v, c, d := info()
	return fmt.Sprintf("gcrcred %s (commit %s, built %s, %s %s/%s)", v, c, d, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func info() (v, c, d string) {
	v, c, d = version, commit, date
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version // go install github.com/gcrcred/gcrcred/cmd/gcrcred@v1.2.3
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && c == "":
				c = s.Value
				if len(c) > 12 {
					c = c[:12]
				}
			case s.Key == "vcs.time" && d == "":
				d = s.Value
			case s.Key == "vcs.modified" && s.Value == "true" && c != "" && commit == "":
				c += "-dirty"
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	if c == "" {
		c = "unknown"
	}
	if d == "" {
		d = "unknown"
	}
	return v, c, d
}

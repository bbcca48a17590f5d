// Package version says which gcrcred this is: what `make build` stamps into
// the binary, or else what the Go toolchain recorded (`go build`,
// `go install ...@version`), so every build can say where it came from.
package version

import (
	"debug/buildinfo"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set with -ldflags "-X github.com/gcrcred/gcrcred/internal/version.version=..." etc.
var (
	version = ""
	commit  = ""
	date    = ""
)

// Version is the release or `git describe` of this build ("devel" if unknown).
func Version() string {
	bi, _ := debug.ReadBuildInfo()
	v, _, _ := info(version, commit, date, bi)
	return v
}

// String is the one-line version report.
func String() string {
	bi, _ := debug.ReadBuildInfo()
	v, c, d := info(version, commit, date, bi)
	return fmt.Sprintf("gcrcred %s (commit %s, built %s, %s %s/%s)", v, c, d, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// mainPackage is gcrcred's main package, as Go's build information names it.
const mainPackage = "github.com/gcrcred/gcrcred/cmd/gcrcred"

// OfFile is String for another gcrcred binary, read from the build
// information the Go linker put into it, without running it (it may be
// built for another architecture). A file that is not a gcrcred build is
// an error.
func OfFile(path string) (string, error) {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s is not a Go program (%v)", path, err)
	}
	return ofBuildInfo(path, bi)
}

// OfReaderAt is OfFile for a binary already open (name is for messages).
func OfReaderAt(r io.ReaderAt, name string) (string, error) {
	bi, err := buildinfo.Read(r)
	if err != nil {
		return "", fmt.Errorf("%s is not a Go program (%v)", name, err)
	}
	return ofBuildInfo(name, bi)
}

func ofBuildInfo(path string, bi *debug.BuildInfo) (string, error) {
	if bi.Path != mainPackage {
		return "", fmt.Errorf("%s is %s, not gcrcred", path, bi.Path)
	}
	stamped := map[string]string{}
	goos, goarch := "", ""
	for _, s := range bi.Settings {
		switch s.Key {
		case "-ldflags":
			fields := strings.Fields(s.Value)
			for i, f := range fields {
				if f == "-X" && i+1 < len(fields) {
					if k, v, ok := strings.Cut(fields[i+1], "="); ok {
						stamped[k] = v
					}
				}
			}
		case "GOOS":
			goos = s.Value
		case "GOARCH":
			goarch = s.Value
		}
	}
	pkg := "github.com/gcrcred/gcrcred/internal/version."
	v, c, d := info(stamped[pkg+"version"], stamped[pkg+"commit"], stamped[pkg+"date"], bi)
	return fmt.Sprintf("gcrcred %s (commit %s, built %s, %s %s/%s)", v, c, d, bi.GoVersion, goos, goarch), nil
}

// info completes what -ldflags stamped with what the Go toolchain recorded.
func info(v, c, d string, bi *debug.BuildInfo) (string, string, string) {
	stampedCommit := c
	if bi != nil {
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
			case s.Key == "vcs.modified" && s.Value == "true" && c != "" && stampedCommit == "":
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

// Package version says which gcrcred a binary is, from what the Go
// toolchain recorded in it (debug/buildinfo): the module version (a
// release tag on a tagged commit, a pseudo-version between tags, both
// stamped by `go build` from git since Go 1.24, or the version `go install
// ...@v1.2.3` fetched), the commit, its time, the Go version and platform.
//
// One function, Info.String, makes the line for this program (`gcrcred
// version`) and for a binary on disk (the installers' plans, built for
// another architecture and never run), so the two always agree. Nothing is
// stamped with -ldflags -X: `go build -trimpath` (every release build)
// leaves -ldflags out of the recorded build information, so a stamp could
// be printed by the program but not read from its file.
package version

import (
	"debug/buildinfo"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// MainPackage is gcrcred's main package, as Go's build information names it.
const MainPackage = "github.com/gcrcred/gcrcred/cmd/gcrcred"

// Info is what a build says about itself.
type Info struct {
	Version   string // "v1.2.3", a pseudo-version, or "devel"
	Commit    string // 12 hex digits ("-dirty" for uncommitted changes), or "unknown"
	Date      string // the commit's time (RFC 3339), or "unknown"
	GoVersion string
	OS, Arch  string
}

// String is the one-line version report: `gcrcred version` prints it, and
// the installers print it for the binary a node gets.
func (i Info) String() string {
	return fmt.Sprintf("gcrcred %s (commit %s, built %s, %s %s/%s)", i.Version, i.Commit, i.Date, i.GoVersion, i.OS, i.Arch)
}

// Current is this program's Info.
func Current() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return fromBuildInfo(nil)
	}
	return fromBuildInfo(bi)
}

// String is Current().String().
func String() string { return Current().String() }

// Version is this program's version alone ("devel" if unknown).
func Version() string { return Current().Version }

// Read is the Info of the gcrcred binary at path, from the build
// information in the file (any OS or architecture), without running it. A
// file that is not a gcrcred build is an error.
func Read(path string) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	return ReadFrom(f, path)
}

// ReadFrom is Read for a binary held open or in memory (name names it in
// errors).
func ReadFrom(r io.ReaderAt, name string) (Info, error) {
	bi, err := buildinfo.Read(r)
	if err != nil {
		return Info{}, fmt.Errorf("%s is not a Go program (%v)", name, err)
	}
	if bi.Path != MainPackage {
		return Info{}, fmt.Errorf("%s is %s, not gcrcred", name, bi.Path)
	}
	return fromBuildInfo(bi), nil
}

// OfReaderAt is ReadFrom(r, name).String().
func OfReaderAt(r io.ReaderAt, name string) (string, error) {
	i, err := ReadFrom(r, name)
	if err != nil {
		return "", err
	}
	return i.String(), nil
}

// OfFile is Read(path).String().
func OfFile(path string) (string, error) {
	i, err := Read(path)
	if err != nil {
		return "", err
	}
	return i.String(), nil
}

// fromBuildInfo reads an Info out of Go's build information (nil: nothing
// known).
func fromBuildInfo(bi *debug.BuildInfo) Info {
	i := Info{Version: "devel", Commit: "unknown", Date: "unknown", GoVersion: "unknown", OS: "unknown", Arch: "unknown"}
	if bi == nil {
		return i
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		i.Version = v
	}
	if bi.GoVersion != "" {
		i.GoVersion = bi.GoVersion
	}
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Commit = s.Value
			if len(i.Commit) > 12 {
				i.Commit = i.Commit[:12]
			}
		case "vcs.time":
			i.Date = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		case "GOOS":
			i.OS = s.Value
		case "GOARCH":
			i.Arch = s.Value
		}
	}
	if modified && i.Commit != "unknown" {
		i.Commit += "-dirty"
	}
	return i
}

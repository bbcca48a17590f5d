// Package version holds what `make build` stamps into the binary.
package version

import (
	"fmt"
	"runtime"
)

// Set with -ldflags "-X github.com/gcrcred/gcrcred/internal/version.Version=..." etc.
var (
	Version = "dev"
	Commit  = "unknown"
	Date    = "unknown"
)

// String is the one-line version report.
func String() string {
	return fmt.Sprintf("gcrcred %s (commit %s, built %s, %s %s/%s)", Version, Commit, Date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

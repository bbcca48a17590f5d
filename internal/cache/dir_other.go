//go:build !windows

package cache

// windowsDir is Windows' own place for these files; none elsewhere.
func windowsDir() string { return "" }

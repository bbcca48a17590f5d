//go:build !windows

package logins

// windowsDir is Windows' own place for these files; none elsewhere.
func windowsDir() string { return "" }

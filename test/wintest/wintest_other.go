//go:build !windows

package wintest

import "testing"

// TempDir is t.TempDir on systems other than Windows.
func TempDir(t testing.TB) string { return t.TempDir() }

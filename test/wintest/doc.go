// Package wintest helps the Windows unit tests, which also run under Wine
// (`make test-windows`); elsewhere TempDir is t.TempDir.
package wintest

package wintest

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"golang.org/x/sys/windows"
)

// TempDir is t.TempDir for tests that run under Wine: Go's RemoveAll
// deletes with FILE_DISPOSITION_INFORMATION_EX, which Wine 8 answers with
// an error Go does not fall back from, so this one is cleaned up entry by
// entry with os.Remove (DeleteFile and RemoveDirectory).
func TempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "gcrcred-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var paths []string
		filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
			if err == nil {
				paths = append(paths, p)
			}
			return nil
		})
		sort.Sort(sort.Reverse(sort.StringSlice(paths))) // children before parents
		for _, p := range paths {
			os.Chmod(p, 0o600)
			os.Remove(p)
		}
	})
	return dir
}

// UnderWine reports whether this Windows program runs under Wine (its
// ntdll exports wine_get_version). Wine keeps no owners on files (every
// file is the running user's): a test of an owner rule skips there and
// runs on Windows.
func UnderWine() bool {
	ntdll := windows.NewLazySystemDLL("ntdll.dll")
	return ntdll.NewProc("wine_get_version").Find() == nil
}

package settings

import (
	"os"
	"path/filepath"
	"runtime"
)

// LookPath is the executable name in the directories of s.Path, or "".
// exec.LookPath would search the process's own PATH, which s describes and
// an in-process caller (a test) does not set. Like exec.LookPath it never
// returns a file in a relative directory (the current one, say).
func (s Settings) LookPath(name string) string {
	exts := []string{""}
	if runtime.GOOS == "windows" {
		exts = []string{".exe", ".cmd", ".bat", ".com"} // PATHEXT's defaults
	}
	for _, dir := range filepath.SplitList(s.Path) {
		if !filepath.IsAbs(dir) {
			continue
		}
		for _, ext := range exts {
			p := filepath.Join(dir, name+ext)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && (runtime.GOOS == "windows" || fi.Mode().Perm()&0o111 != 0) {
				return p
			}
		}
	}
	return ""
}

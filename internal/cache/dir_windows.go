package cache

import (
	"os"
	"path/filepath"
)

// windowsDir is %LOCALAPPDATA%\gcrcred, where Windows programs keep what
// may be rebuilt (it does not roam with the profile); "" if unset.
func windowsDir() string {
	if d := os.Getenv("LOCALAPPDATA"); d != "" {
		return filepath.Join(d, "gcrcred")
	}
	return ""
}

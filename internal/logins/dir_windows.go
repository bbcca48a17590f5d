package logins

import (
	"os"
	"path/filepath"
)

// windowsDir is %APPDATA%\gcrcred, where Windows programs keep settings
// (they roam with the profile); "" if unset.
func windowsDir() string {
	if d := os.Getenv("APPDATA"); d != "" {
		return filepath.Join(d, "gcrcred")
	}
	return ""
}

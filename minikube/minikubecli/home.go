package minikubecli

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// MiniPath is minikube's state directory, resolved as minikube's localpath
// does: MINIKUBE_HOME, with ".minikube" appended unless it already ends so;
// unset, ~/.minikube.
func MiniPath() string {
	if h := os.Getenv("MINIKUBE_HOME"); h != "" {
		if filepath.Base(h) == ".minikube" {
			return h
		}
		return filepath.Join(h, ".minikube")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "."
	}
	return filepath.Join(home, ".minikube")
}

// FileSyncDir is copied to / on every node of every profile at each start,
// before the kubelet starts, keeping each file's mode.
func FileSyncDir() string { return filepath.Join(MiniPath(), "files") }

// SyncPath is where file sync keeps the file that lands at nodePath.
func SyncPath(nodePath string) string {
	return filepath.Join(FileSyncDir(), filepath.FromSlash(nodePath))
}

func profilesDir() string { return filepath.Join(MiniPath(), "profiles") }

// ProfileConfigPath is where minikube saves a profile, extra-config included.
func ProfileConfigPath(profile string) string {
	return filepath.Join(profilesDir(), profile, "config.json")
}

// DefaultProfile is the profile minikube would use without -p:
// MINIKUBE_PROFILE, then `minikube profile NAME`'s setting, then "minikube".
func DefaultProfile() string {
	if p := os.Getenv("MINIKUBE_PROFILE"); p != "" {
		return p
	}
	b, err := os.ReadFile(filepath.Join(MiniPath(), "config", "config.json"))
	if err == nil {
		var c struct {
			Profile string `json:"profile"`
		}
		if json.Unmarshal(b, &c) == nil && c.Profile != "" {
			return c.Profile
		}
	}
	return "minikube"
}

// OtherProfiles lists the other profiles under this MINIKUBE_HOME.
func OtherProfiles(profile string) []string {
	entries, _ := os.ReadDir(profilesDir())
	var names []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != profile {
			if _, err := os.Stat(ProfileConfigPath(e.Name())); err == nil {
				names = append(names, e.Name())
			}
		}
	}
	return names
}

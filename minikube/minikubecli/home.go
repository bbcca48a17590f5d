package minikubecli

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// Home is minikube's state directory on this host, resolved as minikube's
// localpath does: MINIKUBE_HOME, with ".minikube" appended unless it
// already ends so; unset, ~/.minikube.
type Home string

// HomeOf is the Home for MINIKUBE_HOME minikubeHome and the user's home
// directory (both from settings.Settings).
func HomeOf(minikubeHome, userHome string) Home {
	if minikubeHome != "" {
		if filepath.Base(minikubeHome) == ".minikube" {
			return Home(minikubeHome)
		}
		return Home(filepath.Join(minikubeHome, ".minikube"))
	}
	if userHome == "" {
		userHome = "."
	}
	return Home(filepath.Join(userHome, ".minikube"))
}

// FileSyncDir is copied to / on every node of every profile at each start,
// before the kubelet starts, keeping each file's mode.
func (h Home) FileSyncDir() string { return filepath.Join(string(h), "files") }

// SyncPath is where file sync keeps the file that lands at nodePath.
func (h Home) SyncPath(nodePath string) string {
	return filepath.Join(h.FileSyncDir(), filepath.FromSlash(nodePath))
}

func (h Home) profilesDir() string { return filepath.Join(string(h), "profiles") }

// ProfileConfigPath is where minikube saves a profile, extra-config included.
func (h Home) ProfileConfigPath(profile string) string {
	return filepath.Join(h.profilesDir(), profile, "config.json")
}

// DefaultProfile is the profile minikube would use without -p:
// MINIKUBE_PROFILE (env), then `minikube profile NAME`'s setting, then
// "minikube".
func (h Home) DefaultProfile(env string) string {
	if env != "" {
		return env
	}
	b, err := os.ReadFile(filepath.Join(string(h), "config", "config.json"))
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
func (h Home) OtherProfiles(profile string) []string {
	entries, _ := os.ReadDir(h.profilesDir())
	var names []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != profile {
			if _, err := os.Stat(h.ProfileConfigPath(e.Name())); err == nil {
				names = append(names, e.Name())
			}
		}
	}
	return names
}

package minikube

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// miniPath is minikube's state directory, resolved as minikube's localpath
// does: MINIKUBE_HOME, with ".minikube" appended unless it already ends so;
// unset, ~/.minikube.
func miniPath() string {
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

// fileSyncDir is copied to / on every node of every profile at each start.
func fileSyncDir() string { return filepath.Join(miniPath(), "files") }

func profilesDir() string { return filepath.Join(miniPath(), "profiles") }

// profileConfigPath is where minikube saves a profile, extra-config included.
func profileConfigPath(profile string) string {
	return filepath.Join(profilesDir(), profile, "config.json")
}

// defaultProfile is the profile minikube would use without -p:
// MINIKUBE_PROFILE, then `minikube profile NAME`'s setting, then "minikube".
func defaultProfile() string {
	if p := os.Getenv("MINIKUBE_PROFILE"); p != "" {
		return p
	}
	b, err := os.ReadFile(filepath.Join(miniPath(), "config", "config.json"))
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

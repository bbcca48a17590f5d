package minikube

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gcrcred/gcrcred/internal/atomicfile"
	"github.com/gcrcred/gcrcred/internal/orderedjson"
)

// extraOption is one element of KubernetesConfig.ExtraOptions in a profile's
// config.json: what `--extra-config=kubelet.KEY=VALUE` saved.
type extraOption struct {
	Component string
	Key       string
	Value     string
}

// profileConfig is a profile's config.json with its ExtraOptions decoded and
// everything else kept as minikube wrote it.
type profileConfig struct {
	path    string
	mode    os.FileMode
	top     orderedjson.Object
	kube    orderedjson.Object
	options []extraOption
}

func readProfileConfig(path string) (*profileConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	pc := &profileConfig{path: path, mode: fi.Mode().Perm()}
	if pc.top, err = orderedjson.Parse(b); err != nil {
		return nil, fmt.Errorf("%s is not the JSON minikube writes (%v): run `minikube start` for the profile to rewrite it", path, err)
	}
	if raw, ok := pc.top.Get("KubernetesConfig"); ok && string(raw) != "null" {
		if pc.kube, err = orderedjson.Parse(raw); err != nil {
			return nil, fmt.Errorf("%s: KubernetesConfig: %v", path, err)
		}
	}
	if raw, ok := pc.kube.Get("ExtraOptions"); ok {
		if err := json.Unmarshal(raw, &pc.options); err != nil {
			return nil, fmt.Errorf("%s: KubernetesConfig.ExtraOptions is not a list of {Component, Key, Value}: %v", path, err)
		}
	}
	return pc, nil
}

// write saves the config atomically, indented as minikube indents it.
func (pc *profileConfig) write() error {
	opts, err := json.Marshal(pc.options)
	if err != nil {
		return err
	}
	if len(pc.options) == 0 {
		opts = []byte("null") // what minikube writes for no extra options
	}
	pc.kube.Set("ExtraOptions", opts)
	kube, err := json.Marshal(pc.kube)
	if err != nil {
		return err
	}
	pc.top.Set("KubernetesConfig", kube)
	out, err := json.MarshalIndent(pc.top, "", "    ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(pc.path, out, pc.mode)
}

// kubeletOption returns the saved value of a kubelet flag.
func (pc *profileConfig) kubeletOption(key string) (string, bool) {
	for _, o := range pc.options {
		if o.Component == "kubelet" && o.Key == key {
			return o.Value, true
		}
	}
	return "", false
}

// conflicts names our flags that the profile already sets to something else.
func (pc *profileConfig) conflicts() []string {
	var bad []string
	for _, f := range kubeletFlags() {
		if v, ok := pc.kubeletOption(f.key); ok && v != f.value {
			bad = append(bad, fmt.Sprintf("kubelet.%s=%s", f.key, v))
		}
	}
	return bad
}

// addOurs appends the flags that are missing and reports whether any were.
// Everything saved before stays, in order: minikube's own `--extra-config`
// would replace the whole list, which is why we edit the file instead.
func (pc *profileConfig) addOurs() bool {
	changed := false
	for _, f := range kubeletFlags() {
		if _, ok := pc.kubeletOption(f.key); !ok {
			pc.options = append(pc.options, extraOption{"kubelet", f.key, f.value})
			changed = true
		}
	}
	return changed
}

// removeOurs drops our flags (with our values only) and reports whether any were there.
func (pc *profileConfig) removeOurs() bool {
	kept := pc.options[:0:0]
	for _, o := range pc.options {
		if !isOurOption(o) {
			kept = append(kept, o)
		}
	}
	changed := len(kept) != len(pc.options)
	pc.options = kept
	return changed
}

// hasOurs reports whether both flags are saved with our values.
func (pc *profileConfig) hasOurs() bool {
	for _, f := range kubeletFlags() {
		if v, ok := pc.kubeletOption(f.key); !ok || v != f.value {
			return false
		}
	}
	return true
}

func isOurOption(o extraOption) bool {
	for _, f := range kubeletFlags() {
		if o.Component == "kubelet" && o.Key == f.key && o.Value == f.value {
			return true
		}
	}
	return false
}

// otherProfiles lists the other profiles under this MINIKUBE_HOME.
func otherProfiles(profile string) []string {
	entries, _ := os.ReadDir(profilesDir())
	var names []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != profile {
			if _, err := os.Stat(filepath.Join(profilesDir(), e.Name(), "config.json")); err == nil {
				names = append(names, e.Name())
			}
		}
	}
	return names
}

// otherProfilesUsingUs lists the other profiles under this MINIKUBE_HOME
// whose saved flags point at gcrcred: they need the file-sync files too.
func otherProfilesUsingUs(profile string) []string {
	var users []string
	for _, name := range otherProfiles(profile) {
		pc, err := readProfileConfig(profileConfigPath(name))
		if err == nil && pc.hasOurs() {
			users = append(users, name)
		}
	}
	return users
}

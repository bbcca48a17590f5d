package minikubecli

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/gcrcred/gcrcred/internal/atomicfile"
	"github.com/gcrcred/gcrcred/internal/orderedjson"
)

// Option is one kubelet flag as minikube's extra-config saves it
// (`--extra-config=kubelet.KEY=VALUE`).
type Option struct{ Key, Value string }

// extraOption is one element of KubernetesConfig.ExtraOptions.
type extraOption struct {
	Component string
	Key       string
	Value     string
}

// ProfileConfig is a profile's config.json with its ExtraOptions decoded
// and everything else kept as minikube wrote it (orderedjson: minikube's
// own rewrite keeps its order, and a diff should show only our change).
type ProfileConfig struct {
	path    string
	mode    os.FileMode
	top     orderedjson.Object
	kube    orderedjson.Object
	options []extraOption
}

// ReadProfileConfig reads a profile's config.json.
func ReadProfileConfig(path string) (*ProfileConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	pc := &ProfileConfig{path: path, mode: fi.Mode().Perm()}
	if pc.top, err = orderedjson.Parse(b); err != nil {
		return nil, fmt.Errorf("%s is not the JSON minikube writes (%v): run `minikube start` for the profile to rewrite it", path, err)
	}
	if raw, ok := pc.top.Get("KubernetesConfig"); ok && string(raw) != "null" {
		if pc.kube, err = orderedjson.Parse(raw); err != nil {
			return nil, fmt.Errorf("%s: KubernetesConfig: %v: run `minikube start` for the profile to rewrite it", path, err)
		}
	}
	if raw, ok := pc.kube.Get("ExtraOptions"); ok {
		if err := json.Unmarshal(raw, &pc.options); err != nil {
			return nil, fmt.Errorf("%s: KubernetesConfig.ExtraOptions is not a list of {Component, Key, Value} (%v): run `minikube start` for the profile to rewrite it", path, err)
		}
	}
	return pc, nil
}

// Path is the file it was read from.
func (pc *ProfileConfig) Path() string { return pc.path }

// Write saves the config atomically, indented as minikube indents it.
func (pc *ProfileConfig) Write() error {
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

// KubeletOption returns the saved value of a kubelet flag.
func (pc *ProfileConfig) KubeletOption(key string) (string, bool) {
	for _, o := range pc.options {
		if o.Component == "kubelet" && o.Key == key {
			return o.Value, true
		}
	}
	return "", false
}

// Conflicts names the options the profile saves with other values.
func (pc *ProfileConfig) Conflicts(opts []Option) []string {
	var bad []string
	for _, f := range opts {
		if v, ok := pc.KubeletOption(f.Key); ok && v != f.Value {
			bad = append(bad, fmt.Sprintf("kubelet.%s=%s", f.Key, v))
		}
	}
	return bad
}

// AddKubelet appends the options that are missing and reports whether any
// were. Everything saved before stays, in order: minikube's own
// `--extra-config` would replace the whole list, which is why the file is
// edited instead.
func (pc *ProfileConfig) AddKubelet(opts []Option) bool {
	changed := false
	for _, f := range opts {
		if _, ok := pc.KubeletOption(f.Key); !ok {
			pc.options = append(pc.options, extraOption{"kubelet", f.Key, f.Value})
			changed = true
		}
	}
	return changed
}

// RemoveKubelet drops the options (with these values only) and reports
// whether any were there.
func (pc *ProfileConfig) RemoveKubelet(opts []Option) bool {
	kept := pc.options[:0:0]
	for _, o := range pc.options {
		if !(o.Component == "kubelet" && containsOption(opts, Option{o.Key, o.Value})) {
			kept = append(kept, o)
		}
	}
	changed := len(kept) != len(pc.options)
	pc.options = kept
	return changed
}

// HasKubelet reports whether every option is saved with its value.
func (pc *ProfileConfig) HasKubelet(opts []Option) bool {
	for _, f := range opts {
		if v, ok := pc.KubeletOption(f.Key); !ok || v != f.Value {
			return false
		}
	}
	return true
}

func containsOption(opts []Option, o Option) bool {
	for _, x := range opts {
		if x == o {
			return true
		}
	}
	return false
}

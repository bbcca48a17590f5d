package providerconfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/gcrcred/gcrcred/internal/kubeletapi"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/internal/podidentity"
	"github.com/gcrcred/gcrcred/internal/registries"
	"github.com/gcrcred/gcrcred/internal/yamlfile"
)

// A provider config that other providers share (k3s's and rke2's, EKS's,
// GKE's, a kubelet's config directory) is read generically, so that every
// other provider and every field gcrcred does not know stays as it was.

// Doc is a provider config read generically.
type Doc struct {
	doc  map[string]any
	json bool // the file is JSON (EKS writes config.json), not YAML
}

// Parse reads a provider config named name (for messages).
func Parse(b []byte, name string) (*Doc, error) {
	c := &Doc{json: bytes.HasPrefix(bytes.TrimSpace(b), []byte("{"))}
	var err error
	if c.json {
		err = json.Unmarshal(b, &c.doc)
	} else {
		err = yamlfile.Unmarshal(b, &c.doc)
	}
	if err != nil || c.doc == nil {
		return nil, fmt.Errorf("%s is not a CredentialProviderConfig the kubelet could read (%v): fix it and rerun", name, err)
	}
	if k, _ := c.doc["kind"].(string); k != kubeletapi.KindConfig {
		return nil, fmt.Errorf("%s has kind %q, not %s", name, k, kubeletapi.KindConfig)
	}
	return c, nil
}

// IsJSON reports whether the file is JSON.
func (c *Doc) IsJSON() bool { return c.json }

// ExecAPIVersion is the exec API version matching the file's own version
// (kubelet.config.k8s.io/v1 -> credentialprovider.kubelet.k8s.io/v1): the
// two moved together, so the kubelet reading this file speaks that one.
func (c *Doc) ExecAPIVersion() string {
	v, _ := c.doc["apiVersion"].(string)
	_, version, _ := strings.Cut(v, "/")
	if version == "" {
		return "v1"
	}
	return version
}

func (c *Doc) providers() []any {
	ps, _ := c.doc["providers"].([]any)
	return ps
}

func providerName(p any) string {
	m, _ := p.(map[string]any)
	n, _ := m["name"].(string)
	return n
}

// Names lists the providers' names.
func (c *Doc) Names() []string {
	var out []string
	for _, p := range c.providers() {
		out = append(out, providerName(p))
	}
	return out
}

// Has reports whether gcrcred's provider is in the config.
func (c *Doc) Has() bool { return slices.Contains(c.Names(), nodelayout.PluginName) }

func (c *Doc) bytes() ([]byte, error) {
	if c.json {
		b, err := json.MarshalIndent(c.doc, "", "  ")
		return append(b, '\n'), err
	}
	return yamlfile.Marshal(c.doc)
}

// others are the providers that are not gcrcred's.
func (c *Doc) others() []any {
	kept := []any{}
	for _, p := range c.providers() {
		if providerName(p) != nodelayout.PluginName {
			kept = append(kept, p)
		}
	}
	return kept
}

// withOurs is the config with gcrcred's provider for o in place of any it
// had, last, at the config's own exec API version.
func (c *Doc) withOurs(o Options) ([]byte, error) {
	o.APIVersion = c.ExecAPIVersion()
	cfg, err := New(o)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(cfg.Providers[0])
	if err != nil {
		return nil, err
	}
	var ours any
	if err := json.Unmarshal(raw, &ours); err != nil {
		return nil, err
	}
	c.doc["providers"] = append(c.others(), ours)
	return c.bytes()
}

// WithoutOurs is the config without gcrcred's provider; empty is true when
// no other provider is left (the kubelet refuses a config without
// providers).
func (c *Doc) WithoutOurs() (out []byte, changed, empty bool, err error) {
	kept := c.others()
	if len(kept) == len(c.providers()) {
		return nil, false, len(kept) == 0, nil
	}
	c.doc["providers"] = kept
	out, err = c.bytes()
	return out, true, len(kept) == 0, err
}

// Merge is what a provider config file gcrcred shares should hold:
// gcrcred's whole file where there is none (exists false) or only
// gcrcred's, else the file with gcrcred's provider added (every other one
// kept, same versions).
func Merge(existing []byte, exists bool, name string, o Options) ([]byte, error) {
	if !exists {
		return Render(o)
	}
	c, err := Parse(existing, name)
	if err != nil {
		return nil, err
	}
	if len(c.others()) == 0 {
		o.APIVersion = c.ExecAPIVersion()
		return Render(o)
	}
	return c.withOurs(o)
}

// ours is gcrcred's provider in a config, nil if it has none.
func ours(config []byte) map[string]any {
	c, err := Parse(config, "")
	if err != nil {
		return nil
	}
	for _, p := range c.providers() {
		if providerName(p) == nodelayout.PluginName {
			m, _ := p.(map[string]any)
			return m
		}
	}
	return nil
}

// Env is the environment the kubelet gives gcrcred's provider (KEY=VALUE).
func Env(config []byte) []string {
	var env []string
	list, _ := ours(config)["env"].([]any)
	for _, e := range list {
		kv, _ := e.(map[string]any)
		n, _ := kv["name"].(string)
		v, _ := kv["value"].(string)
		env = append(env, n+"="+v)
	}
	return env
}

// DockerHosts are the hosts Docker is pointed at: defaults plus the plain
// hosts (not patterns) of the GCRCRED_REGISTRIES that gcrcred's provider in
// config passes, so extra registries reach Docker too.
func DockerHosts(config []byte, defaults []string) []string {
	hosts := append([]string{}, defaults...)
	for _, kv := range Env(config) {
		v, ok := strings.CutPrefix(kv, registries.EnvExtra+"=")
		if !ok {
			continue
		}
		extra, _ := registries.ParseList(v)
		for _, h := range extra {
			if !registries.IsPattern(h) && !slices.Contains(hosts, h) {
				hosts = append(hosts, h)
			}
		}
	}
	return hosts
}

// PodSettings are per-pod identity as gcrcred's provider in a config has it.
type PodSettings struct {
	Audience, File, Mode string
	Require              bool
}

// PodSettingsOf reads per-pod identity from gcrcred's provider; nil: off.
func PodSettingsOf(config []byte) *PodSettings {
	ta, _ := ours(config)["tokenAttributes"].(map[string]any)
	if ta == nil {
		return nil
	}
	p := &PodSettings{}
	p.Audience, _ = ta["serviceAccountTokenAudience"].(string)
	p.Require, _ = ta["requireServiceAccount"].(bool)
	for _, kv := range Env(config) {
		if v, ok := strings.CutPrefix(kv, podidentity.EnvConfig+"="); ok {
			p.File = v
		}
		if v, ok := strings.CutPrefix(kv, podidentity.EnvMode+"="); ok {
			p.Mode = v
		}
	}
	return p
}

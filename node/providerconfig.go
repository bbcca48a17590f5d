package node

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/gcrcred/gcrcred/internal/endpoint"
	"github.com/gcrcred/gcrcred/internal/kubeletapi"
	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/internal/registries"
	"github.com/gcrcred/gcrcred/internal/yamlfile"
	"github.com/gcrcred/gcrcred/provider"
)

// configOptions are what the provider config says beyond the node paths.
type configOptions struct {
	registries []string   // extra registry patterns
	apiVersion string     // exec API version ("v1", "v1beta1", "v1alpha1"); "" = v1
	pod        *podConfig // per-pod identity; nil: off
}

// podConfig is per-pod identity in the provider config.
type podConfig struct {
	audience, mode, mapping string
	require                 bool
	data                    []byte // the credential configuration, checked when non-nil
}

// config is p in the provider config, with the configuration's content
// data (nil: not checked).
func (p PodIdentity) config(data []byte) *podConfig {
	return &podConfig{audience: p.Audience, mode: p.mode(), mapping: p.Mapping, require: p.Require, data: data}
}

func (o configOptions) provider() provider.ConfigOptions {
	c := provider.ConfigOptions{
		APIVersion:      o.apiVersion,
		CredentialsFile: Credentials,
		CacheDir:        KubeletCache,
		Registries:      o.registries,
		// The test switch reaches the kubelet's plugin only from a run
		// that has it (gcrcred's tests).
		TestLoopbackEndpoints: endpoint.TestLoopback(),
	}
	if o.pod != nil {
		// The node key, if any, is found at Credentials by the credential
		// order: the config does not depend on whether there is one.
		c.CredentialsFile = ""
		c.ServiceAccountAudience = o.pod.audience
		c.WorkloadIdentityFile = WorkloadIdentity
		c.WorkloadIdentityConfig = o.pod.data
		c.RequireServiceAccount = o.pod.require
		c.PodIdentityMode = o.pod.mode
		c.SubjectMapping = o.pod.mapping
	}
	return c
}

func wholeConfig(o configOptions) ([]byte, error) {
	b, err := provider.KubeletConfig(o.provider())
	if err != nil {
		return nil, fmt.Errorf("rendering the kubelet credential provider config: %w", err)
	}
	return b, nil
}

// configDoc is a provider config read generically, so that every other
// provider and every field gcrcred does not know stays as it was.
type configDoc struct {
	doc  map[string]any
	json bool // the file is JSON (EKS writes config.json), not YAML
}

func parseConfig(b []byte, name string) (*configDoc, error) {
	c := &configDoc{json: bytes.HasPrefix(bytes.TrimSpace(b), []byte("{"))}
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

// execAPIVersion is the exec API version matching the file's own version
// (kubelet.config.k8s.io/v1 -> credentialprovider.kubelet.k8s.io/v1): the
// two moved together, so the kubelet reading this file speaks that one.
func (c *configDoc) execAPIVersion() string {
	v, _ := c.doc["apiVersion"].(string)
	_, version, _ := strings.Cut(v, "/")
	if version == "" {
		return "v1"
	}
	return version
}

func (c *configDoc) providers() []any {
	ps, _ := c.doc["providers"].([]any)
	return ps
}

func providerName(p any) string {
	m, _ := p.(map[string]any)
	n, _ := m["name"].(string)
	return n
}

// names lists the providers' names.
func (c *configDoc) names() []string {
	var out []string
	for _, p := range c.providers() {
		out = append(out, providerName(p))
	}
	return out
}

func (c *configDoc) bytes() ([]byte, error) {
	if c.json {
		b, err := json.MarshalIndent(c.doc, "", "  ")
		return append(b, '\n'), err
	}
	return yamlfile.Marshal(c.doc)
}

// withOurs is c with gcrcred's provider in place of any it had, last.
func (c *configDoc) withOurs(o configOptions) ([]byte, error) {
	o.apiVersion = c.execAPIVersion()
	cfg, err := provider.Config(o.provider())
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
	kept := []any{}
	for _, p := range c.providers() {
		if providerName(p) != provider.ProviderName {
			kept = append(kept, p)
		}
	}
	c.doc["providers"] = append(kept, ours)
	return c.bytes()
}

// withoutOurs is c without gcrcred's provider; empty is true when no other
// provider is left (the kubelet refuses a config without providers).
func (c *configDoc) withoutOurs() (out []byte, changed, empty bool, err error) {
	kept := []any{}
	for _, p := range c.providers() {
		if providerName(p) != provider.ProviderName {
			kept = append(kept, p)
		}
	}
	if len(kept) == len(c.providers()) {
		return nil, false, len(kept) == 0, nil
	}
	c.doc["providers"] = kept
	out, err = c.bytes()
	return out, true, len(kept) == 0, err
}

// renderConfig is what a provider config file gcrcred shares should hold:
// gcrcred's whole file where there is none or only gcrcred's, else the
// file with gcrcred's provider added (every other one kept, same versions).
func renderConfig(existing []byte, exists bool, name string, o configOptions) ([]byte, error) {
	if !exists {
		return wholeConfig(o)
	}
	c, err := parseConfig(existing, name)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(c.names(), func(n string) bool { return n != provider.ProviderName }) { // no provider but ours
		o.apiVersion = c.execAPIVersion()
		return wholeConfig(o)
	}
	return c.withOurs(o)
}

// ourConfigFile is gcrcred's own file in a kubelet's config directory.
const ourConfigFile = "gcrcred.yaml"

// dirAPIVersion is the exec API version of the other configs in a config
// directory (the kubelet there reads them), v1 if there are none.
func dirAPIVersion(r *noderoot.Root, dir string) string {
	entries, _ := dirEntries(r, dir)
	var names []string
	for _, e := range entries {
		switch path.Ext(e) {
		case ".yaml", ".yml", ".json":
			if e != ourConfigFile {
				names = append(names, e)
			}
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if c, err := readNodeFile(r, path.Join(dir, n)); err == nil {
			if doc, err := parseConfig([]byte(c), n); err == nil {
				return doc.execAPIVersion()
			}
		}
	}
	return "v1"
}

// dockerHostsOf are the hosts Docker is pointed at: configure-docker's
// defaults plus the plain hosts (not patterns) of the GCRCRED_REGISTRIES
// that gcrcred's provider passes, so extra registries reach Docker too.
func dockerHostsOf(config []byte, defaults []string) []string {
	hosts := append([]string{}, defaults...)
	for _, kv := range providerEnv(config) {
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

// ourProvider is gcrcred's provider in a config, nil if it has none.
func ourProvider(config []byte) map[string]any {
	c, err := parseConfig(config, "")
	if err != nil {
		return nil
	}
	for _, p := range c.providers() {
		if providerName(p) == provider.ProviderName {
			m, _ := p.(map[string]any)
			return m
		}
	}
	return nil
}

// providerEnv is the environment the kubelet gives gcrcred's provider
// (KEY=VALUE).
func providerEnv(config []byte) []string {
	var env []string
	list, _ := ourProvider(config)["env"].([]any)
	for _, e := range list {
		kv, _ := e.(map[string]any)
		n, _ := kv["name"].(string)
		v, _ := kv["value"].(string)
		env = append(env, n+"="+v)
	}
	return env
}

// podSettings are per-pod identity as gcrcred's provider has it.
type podSettings struct {
	audience, file, mode string
	require              bool
}

// podSettingsOf reads per-pod identity from gcrcred's provider; nil: off.
func podSettingsOf(config []byte) *podSettings {
	ta, _ := ourProvider(config)["tokenAttributes"].(map[string]any)
	if ta == nil {
		return nil
	}
	p := &podSettings{}
	p.audience, _ = ta["serviceAccountTokenAudience"].(string)
	p.require, _ = ta["requireServiceAccount"].(bool)
	for _, kv := range providerEnv(config) {
		if v, ok := strings.CutPrefix(kv, provider.EnvWorkloadIdentity+"="); ok {
			p.file = v
		}
		if v, ok := strings.CutPrefix(kv, provider.EnvPodIdentity+"="); ok {
			p.mode = v
		}
	}
	return p
}

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// The .goreleaser.yaml fields build/release reads. Everything that decides
// what a release holds comes from there; what it does not understand
// (globs, other templates, other formats) it refuses rather than guesses.
type config struct {
	Version     int           `json:"version"`
	ProjectName string        `json:"project_name"`
	Dist        string        `json:"dist"`
	Release     releaseConfig `json:"release"`
	Builds      []buildConfig `json:"builds"`
	Archives    []archiveConf `json:"archives"`
	Checksum    struct {
		NameTemplate string `json:"name_template"`
		Algorithm    string `json:"algorithm"`
	} `json:"checksum"`
	SBOMs []struct {
		Artifacts string   `json:"artifacts"`
		Documents []string `json:"documents"`
		Args      []string `json:"args"`
	} `json:"sboms"`
	Brews []brewConfig `json:"brews"`
}

type releaseConfig struct {
	GitHub struct {
		Owner string `json:"owner"`
		Name  string `json:"name"`
	} `json:"github"`
}

type buildConfig struct {
	ID      string   `json:"id"`
	Main    string   `json:"main"`
	Binary  string   `json:"binary"`
	Env     []string `json:"env"`
	Flags   []string `json:"flags"`
	Ldflags []string `json:"ldflags"`
	Goos    []string `json:"goos"`
	Goarch  []string `json:"goarch"`
	Goamd64 []string `json:"goamd64"`
	Goarm64 []string `json:"goarm64"`
}

type archiveConf struct {
	ID           string     `json:"id"`
	IDs          []string   `json:"ids"`
	Formats      []string   `json:"formats"`
	NameTemplate string     `json:"name_template"`
	Files        []fileSpec `json:"files"`
}

// fileSpec is one `files:` entry: a path, or {src, dst, strip_parent, info}.
type fileSpec struct {
	Src         string `json:"src"`
	Dst         string `json:"dst"`
	StripParent bool   `json:"strip_parent"`
	Info        struct {
		Mode *uint32 `json:"mode"`
	} `json:"info"`
}

func (f *fileSpec) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*f = fileSpec{Src: s}
		return nil
	}
	type plain fileSpec
	return json.Unmarshal(b, (*plain)(f))
}

type brewConfig struct {
	Name        string   `json:"name"`
	IDs         []string `json:"ids"`
	Homepage    string   `json:"homepage"`
	Description string   `json:"description"`
	License     string   `json:"license"`
	Install     string   `json:"install"`
	Test        string   `json:"test"`
}

// The templates build/release implements; the file must use exactly these.
const (
	archiveNameTemplate = "{{ .ProjectName }}_{{ .Version }}_{{ .Os }}_{{ .Arch }}"
	sbomDocument        = "{{ .ArtifactName }}.sbom.json"
	checksumsName       = "SHA256SUMS"
	formulaName         = "gcrcred.rb" // where build/release writes the formula it renders
)

// mainPackage is the only program releases build.
const mainPackage = "./cmd/gcrcred"

// platform is one GOOS/GOARCH.
type platform struct{ OS, Arch string }

func (p platform) String() string { return p.OS + "/" + p.Arch }

// exe is the file name of binary on p.
func (p platform) exe(binary string) string {
	if p.OS == "windows" {
		return binary + ".exe"
	}
	return binary
}

func loadConfig(file string) (*config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var c config
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	return &c, nil
}

// validate refuses what build/release would not build the way goreleaser
// does.
func (c *config) validate() error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if c.Version != 2 {
		bad("version is %d: build/release reads goreleaser v2 files", c.Version)
	}
	if c.ProjectName == "" || c.Dist == "" {
		bad("project_name and dist must be set")
	}
	if c.Checksum.NameTemplate != checksumsName || c.Checksum.Algorithm != "sha256" {
		bad("checksum must be name_template %s, algorithm sha256", checksumsName)
	}
	if len(c.SBOMs) != 1 || c.SBOMs[0].Artifacts != "archive" || len(c.SBOMs[0].Documents) != 1 ||
		c.SBOMs[0].Documents[0] != sbomDocument || !strings.Contains(strings.Join(c.SBOMs[0].Args, " "), "cyclonedx-json=") {
		bad("sboms must be one CycloneDX JSON document %q per archive", sbomDocument)
	}
	builds := map[string]bool{}
	for _, b := range c.Builds {
		builds[b.ID] = true
		if b.Main != mainPackage || b.Binary == "" || len(b.Goos) == 0 || len(b.Goarch) == 0 {
			bad("build %q: want main %s, a binary, goos and goarch", b.ID, mainPackage)
		}
		for _, v := range append(append(append([]string{}, b.Env...), b.Flags...), b.Ldflags...) {
			if strings.Contains(v, "{{") {
				bad("build %q: %q is a template; build/release takes env, flags and ldflags literally", b.ID, v)
			}
		}
	}
	seen := map[platform]map[string]bool{}
	for _, a := range c.Archives {
		if a.NameTemplate != archiveNameTemplate {
			bad("archive %q: name_template must be %q", a.ID, archiveNameTemplate)
		}
		if len(a.Formats) != 1 || (a.Formats[0] != "tar.gz" && a.Formats[0] != "zip") {
			bad("archive %q: formats must be [tar.gz] or [zip]", a.ID)
		}
		for _, id := range a.IDs {
			if !builds[id] {
				bad("archive %q names build %q, which does not exist", a.ID, id)
			}
		}
		for _, f := range a.Files {
			if strings.ContainsAny(f.Src, "*?[{") {
				bad("archive %q: file %q is a glob or template; build/release takes plain paths", a.ID, f.Src)
			}
		}
		for _, p := range c.platformsOf(a.IDs) {
			if seen[p] == nil {
				seen[p] = map[string]bool{}
			}
			if seen[p][a.Formats[0]] {
				bad("two archives for %s in %s", p, a.Formats[0])
			}
			seen[p][a.Formats[0]] = true
		}
	}
	if len(c.Brews) != 1 || c.Brews[0].Install == "" {
		bad("brews must hold one formula with an install block")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// platformsOf is every GOOS/GOARCH the builds ids (all when none) make.
func (c *config) platformsOf(ids []string) []platform {
	set := map[platform]bool{}
	for _, b := range c.Builds {
		if len(ids) > 0 && !contains(ids, b.ID) {
			continue
		}
		for _, goos := range b.Goos {
			for _, arch := range b.Goarch {
				set[platform{goos, arch}] = true
			}
		}
	}
	var out []platform
	for p := range set {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Platforms is every platform a release is built for.
func (c *config) Platforms() []platform { return c.platformsOf(nil) }

// buildsFor are the builds of ids that make p.
func (c *config) buildsFor(ids []string, p platform) []buildConfig {
	var out []buildConfig
	for _, b := range c.Builds {
		if contains(ids, b.ID) && contains(b.Goos, p.OS) && contains(b.Goarch, p.Arch) {
			out = append(out, b)
		}
	}
	return out
}

// archiveEntry is a file an archive holds, as the config describes it.
type archiveEntry struct {
	Name    string      // in the archive
	Source  string      // the file in the source tree, or "" for a binary
	Binary  buildConfig // the build it comes from, for a binary
	Mode    fs.FileMode // for files (binaries are 0755)
	Symlink bool        // a link in the source tree, stored as one
}

// entries lists what a's archive for p holds, sorted by name, reading
// file types under srcDir (the source tree the release is built from).
func (c *config) entries(a archiveConf, p platform, srcDir string) ([]archiveEntry, error) {
	var out []archiveEntry
	for _, b := range c.buildsFor(a.IDs, p) {
		out = append(out, archiveEntry{Name: p.exe(b.Binary), Binary: b, Mode: 0o755})
	}
	for _, f := range a.Files {
		name := f.Src
		if f.StripParent {
			name = path.Base(f.Src)
		}
		if f.Dst != "" {
			name = path.Join(f.Dst, name)
		}
		mode := fs.FileMode(0o644)
		if f.Info.Mode != nil {
			mode = fs.FileMode(*f.Info.Mode)
		}
		fi, err := os.Lstat(srcDir + "/" + f.Src)
		if err != nil {
			return nil, fmt.Errorf("archive %q: %v", a.ID, err)
		}
		out = append(out, archiveEntry{Name: name, Source: f.Src, Mode: mode, Symlink: fi.Mode()&fs.ModeSymlink != 0})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for i := 1; i < len(out); i++ {
		if out[i].Name == out[i-1].Name {
			return nil, fmt.Errorf("archive %q for %s holds %s twice", a.ID, p, out[i].Name)
		}
	}
	return out, nil
}

// archiveName is the archive's file name (goreleaser's .Version has no v).
func (c *config) archiveName(a archiveConf, version string, p platform) string {
	return fmt.Sprintf("%s_%s_%s_%s.%s", c.ProjectName, strings.TrimPrefix(version, "v"), p.OS, p.Arch, a.Formats[0])
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

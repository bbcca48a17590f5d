package main

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/gcrcred/gcrcred/build/internal/wine"
	"github.com/gcrcred/gcrcred/internal/version"
)

type checkOptions struct {
	requireWine, requireRuby bool
	root                     string // the source tree: the archives' files (default .)
	readme                   string // the README whose archive line is checked (default root/README.md)
	winePrefix               string // default bin/wine
}

// check verifies a release directory against the config: SHA256SUMS
// matches every file and names every archive and SBOM; each platform has
// its archive holding exactly the files the config and the README list,
// binaries built for that platform, static and trimmed, of one version
// that the archive's name carries; each SBOM names its archive, the binary
// (version, SHA-256) and exactly the modules linked into it; the binaries
// answer `version` where this machine can run them (Linux natively,
// windows/amd64 under Wine), the rest are checked by build information;
// and the formula names every Unix archive with its checksum (and is valid
// Ruby, where ruby is installed).
func check(ctx context.Context, cfg *config, dist string, o checkOptions, out io.Writer) error {
	if o.root == "" {
		o.root = "."
	}
	if o.readme == "" {
		o.readme = filepath.Join(o.root, "README.md")
	}
	if o.winePrefix == "" {
		o.winePrefix = filepath.Join("bin", "wine")
	}
	sums, err := readChecksums(dist)
	if err != nil {
		return err
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	listing, err := os.ReadDir(dist)
	if err != nil {
		return err
	}
	for _, e := range listing {
		if n := e.Name(); n != checksumsName && n != formulaName && sums[n] == "" {
			bad("%s is not in %s", n, checksumsName)
		}
	}
	for name, want := range sums {
		if got, err := fileSHA256(filepath.Join(dist, name)); err != nil || got != want {
			bad("%s: sha256 %s, %s says %s (%v)", name, got, checksumsName, want, err)
		}
	}
	readmeNames, err := readmeArchiveNames(o.readme)
	if err != nil {
		return err
	}
	inSomeArchive := map[string]bool{}
	tmp, err := os.MkdirTemp("", "gcrcred-release-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	runner := &versionRunner{o: o, ctx: ctx}
	defer runner.close()
	releaseVersion := ""
	var formula []formulaArchive
	for _, a := range cfg.Archives {
		for _, p := range cfg.platformsOf(a.IDs) {
			want, err := cfg.entries(a, p, o.root)
			if err != nil {
				return err
			}
			for _, e := range want {
				inSomeArchive[e.Name] = true
			}
			name, err := findArchive(sums, cfg.ProjectName, p, a.Formats[0])
			if err != nil {
				bad("%v", err)
				continue
			}
			if contains(cfg.Brews[0].IDs, a.ID) {
				formula = append(formula, formulaArchive{Platform: p, Name: name, SHA256: sums[name]})
			}
			members, err := readArchive(filepath.Join(dist, name), filepath.Join(tmp, name))
			if err != nil {
				bad("%v", err)
				continue
			}
			info, how, errs := checkArchive(name, p, want, members, readmeNames, runner)
			problems = append(problems, errs...)
			if info == nil {
				continue
			}
			if releaseVersion == "" {
				releaseVersion = info.Version
			} else if info.Version != releaseVersion {
				bad("%s: version %s, other archives %s", name, info.Version, releaseVersion)
			}
			program := members[p.exe(cfg.ProjectName)].Path
			problems = append(problems, checkSBOM(filepath.Join(dist, name+".sbom.json"), name, program, *info)...)
			if sums[name+".sbom.json"] == "" {
				bad("%s.sbom.json is not in %s", name, checksumsName)
			}
			fmt.Fprintf(out, "  %-14s %-62s %s\n", p, name, how)
		}
	}
	for _, n := range readmeNames {
		if !inSomeArchive[n] {
			bad("the README lists %s, which no archive holds", n)
		}
	}
	problems = append(problems, checkFormula(ctx, filepath.Join(dist, formulaName), formula, o.requireRuby, out)...)
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n  "))
	}
	fmt.Fprintf(out, "release %s in %s: %d files, all in %s and as .goreleaser.yaml and the README say\n", releaseVersion, dist, len(sums), checksumsName)
	return nil
}

// findArchive is the one archive of SHA256SUMS for p.
func findArchive(sums map[string]string, project string, p platform, format string) (string, error) {
	re := regexp.MustCompile("^" + regexp.QuoteMeta(project) + `_[^_/]+_` + p.OS + "_" + p.Arch + `\.` + regexp.QuoteMeta(format) + "$")
	var found []string
	for n := range sums {
		if re.MatchString(n) {
			found = append(found, n)
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("%s: want one %s archive in %s, found %v", p, format, checksumsName, found)
	}
	return found[0], nil
}

// checkArchive compares an unpacked archive with what it should hold and
// checks its binaries; it returns the gcrcred binary's Info and how its
// version was checked.
func checkArchive(name string, p platform, want []archiveEntry, got map[string]member, readme []string, r *versionRunner) (*version.Info, string, []string) {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, name+": "+fmt.Sprintf(format, args...)) }
	var wantNames, gotNames []string
	for _, e := range want {
		wantNames = append(wantNames, e.Name)
		if !contains(readme, e.Name) {
			bad("holds %s, which the README's archive line does not list", e.Name)
		}
	}
	for n := range got {
		gotNames = append(gotNames, n)
	}
	sort.Strings(gotNames)
	if strings.Join(wantNames, " ") != strings.Join(gotNames, " ") {
		bad("holds %v, want %v", gotNames, wantNames)
		return nil, "", problems
	}
	var program *version.Info
	var programData []byte
	for _, e := range want {
		m := got[e.Name]
		switch {
		case e.Symlink:
			if m.Linkname == "" {
				bad("%s is not a symbolic link", e.Name)
			}
			continue
		case m.Mode != e.Mode:
			bad("%s has mode %o, want %o", e.Name, m.Mode, e.Mode)
		}
		if e.Source != "" {
			continue
		}
		info, err := checkBinary(m.Path, p)
		if err != nil {
			bad("%v", err)
			continue
		}
		data, _ := os.ReadFile(m.Path)
		if programData == nil {
			program, programData = &info, data
		} else if !bytes.Equal(data, programData) {
			bad("%s differs from the other binary: both are gcrcred, under two names", e.Name)
		}
	}
	if program == nil {
		return nil, "", problems
	}
	if !strings.Contains(name, "_"+strings.TrimPrefix(program.Version, "v")+"_") {
		bad("the name does not carry the binaries' version %s", program.Version)
	}
	how, err := r.check(p, got, *program)
	if err != nil {
		bad("%v", err)
	}
	return program, how, problems
}

// checkBinary reads a binary's build information: gcrcred, for p, static
// (CGO_ENABLED=0) and built with -trimpath.
func checkBinary(path string, p platform) (version.Info, error) {
	info, err := version.Read(path)
	if err != nil {
		return info, err
	}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return info, err
	}
	switch {
	case info.OS != p.OS || info.Arch != p.Arch:
		return info, fmt.Errorf("%s is built for %s/%s, not %s", filepath.Base(path), info.OS, info.Arch, p)
	case setting(bi, "CGO_ENABLED") != "0":
		return info, fmt.Errorf("%s is not static (CGO_ENABLED=%s)", filepath.Base(path), setting(bi, "CGO_ENABLED"))
	case setting(bi, "-trimpath") != "true":
		return info, fmt.Errorf("%s is not built with -trimpath", filepath.Base(path))
	}
	return info, nil
}

// checkSBOM checks an archive's SBOM against the binary in it.
func checkSBOM(path, archive, binary string, info version.Info) []string {
	bad := func(format string, args ...any) []string {
		return []string{filepath.Base(path) + ": " + fmt.Sprintf(format, args...)}
	}
	f, err := os.Open(path)
	if err != nil {
		return bad("%v", err)
	}
	defer f.Close()
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(f, cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return bad("not CycloneDX JSON: %v", err)
	}
	if bom.Metadata == nil || bom.Metadata.Component == nil || bom.Metadata.Component.Name != archive {
		return bad("does not name the archive %s", archive)
	}
	if bom.Components == nil {
		return bad("lists no components")
	}
	sum, _ := fileSHA256(binary)
	bi, err := buildinfo.ReadFile(binary)
	if err != nil {
		return bad("%v", err)
	}
	want := map[string]bool{}
	for _, d := range modules(bi) {
		want[d.Path+"@"+d.Version] = true
	}
	var problems []string
	foundProgram := false
	for _, c := range *bom.Components {
		switch {
		case c.BOMRef == binaryRef:
			foundProgram = true
			if c.Name != "gcrcred" || c.Version != info.Version || c.Hashes == nil || len(*c.Hashes) != 1 || (*c.Hashes)[0].Value != sum {
				problems = append(problems, bad("the binary is listed as %s %s, not gcrcred %s with sha256 %s", c.Name, c.Version, info.Version, sum)...)
			}
		case c.Name == "stdlib":
		case want[c.Name+"@"+c.Version]:
			delete(want, c.Name+"@"+c.Version)
			if c.Hashes == nil {
				problems = append(problems, bad("module %s has no hash", c.Name)...)
			}
		default:
			problems = append(problems, bad("lists %s %s, which the binary does not link", c.Name, c.Version)...)
		}
	}
	if !foundProgram {
		problems = append(problems, bad("does not list the binary")...)
	}
	for m := range want {
		problems = append(problems, bad("does not list the linked module %s", m)...)
	}
	return problems
}

// readmeArchiveNames are the backquoted names on the README's line that
// says what an archive holds ("Each archive holds `gcrcred`, ...").
func readmeArchiveNames(readme string) ([]string, error) {
	data, err := os.ReadFile(readme)
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.Contains(line, "Each archive holds") {
			continue
		}
		var names []string
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(line, -1) {
			names = append(names, m[1])
		}
		return names, nil
	}
	return nil, fmt.Errorf("%s has no line saying \"Each archive holds `...`\" (its Install section lists the archives' files)", readme)
}

// checkFormula checks the rendered formula: every archive's url and
// checksum, and Ruby syntax where ruby is installed.
func checkFormula(ctx context.Context, path string, archives []formulaArchive, requireRuby bool, out io.Writer) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	for _, a := range archives {
		if !bytes.Contains(data, []byte("/"+a.Name+"\"")) || !bytes.Contains(data, []byte(`sha256 "`+a.SHA256+`"`)) {
			problems = append(problems, fmt.Sprintf("%s: lacks %s or its sha256", formulaName, a.Name))
		}
	}
	ruby, err := exec.LookPath("ruby")
	if err != nil {
		if requireRuby {
			return append(problems, "ruby is not installed (apt-get install ruby): the formula's syntax is unchecked")
		}
		fmt.Fprintf(out, "  %s: url and sha256 of %d archives checked; ruby not installed, syntax not checked\n", formulaName, len(archives))
		return problems
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if msg, err := exec.CommandContext(ctx, ruby, "-c", path).CombinedOutput(); err != nil {
		return append(problems, fmt.Sprintf("%s is not valid Ruby: %s", formulaName, msg))
	}
	fmt.Fprintf(out, "  %s: url and sha256 of %d archives checked; `ruby -c`: Syntax OK\n", formulaName, len(archives))
	return problems
}

// versionRunner runs the binaries this machine can run.
type versionRunner struct {
	o      checkOptions
	ctx    context.Context
	prefix *wine.Prefix
	noWine error
}

func (r *versionRunner) close() {
	if r.prefix != nil {
		r.prefix.Close()
	}
}

// check runs `version` under both names where it can and compares the
// answer with info; it says how the version was checked.
func (r *versionRunner) check(p platform, files map[string]member, info version.Info) (string, error) {
	program := files[p.exe("gcrcred")].Path
	helper := p.exe("docker-credential-gcrcred")
	var run func(exe string) (string, error)
	how := ""
	switch {
	case p.OS == runtime.GOOS && p.Arch == runtime.GOARCH:
		dir := filepath.Dir(program)
		if l := files[helper].Linkname; l != "" {
			if err := os.Symlink(l, filepath.Join(dir, helper)); err != nil {
				return "", err
			}
		}
		run = func(exe string) (string, error) {
			return output(r.ctx, exec.Command(filepath.Join(dir, exe), "version"), nil)
		}
		how = "ran `version` under both names"
	case p.OS == "windows" && p.Arch == "amd64":
		if r.prefix == nil && r.noWine == nil {
			r.prefix, r.noWine = wine.Prepare(r.ctx, r.o.winePrefix)
		}
		if r.noWine != nil {
			if r.o.requireWine {
				return "", r.noWine
			}
			return "build info only (no Wine: " + r.noWine.Error() + ")", nil
		}
		run = func(exe string) (string, error) {
			return output(r.ctx, r.prefix.Command(r.ctx, files[exe].Path, "version"), r.prefix.Env())
		}
		how = "ran `version` under both names, under Wine"
	default:
		return "build info only (this machine cannot run " + p.String() + ")", nil
	}
	got, err := run(p.exe("gcrcred"))
	if err != nil {
		return "", err
	}
	if got != info.String() {
		return "", fmt.Errorf("`gcrcred version` says %q, its build information %q", got, info.String())
	}
	got, err = run(helper)
	if want := "docker-credential-gcrcred (github.com/gcrcred/gcrcred) " + info.Version; err != nil || got != want {
		return "", fmt.Errorf("`docker-credential-gcrcred version` says %q (%v), want %q", got, err, want)
	}
	return how, nil
}

// output runs cmd (with env, or an empty one) for at most a minute and
// returns its stdout, trimmed.
func output(ctx context.Context, cmd *exec.Cmd, env []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	c.Env = env
	if c.Env == nil {
		c.Env = []string{}
	}
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		return "", fmt.Errorf("%s: %v: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(strings.ReplaceAll(stdout.String(), "\r", "")), nil
}

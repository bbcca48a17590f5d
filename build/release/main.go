// Command release builds gcrcred's release archives offline, as
// .goreleaser.yaml describes them (that file is the one list of platforms,
// flags, contents and names), and checks a built release.
//
//	go run ./build/release snapshot [--config .goreleaser.yaml] [--out DIR]   (make release-snapshot)
//	go run ./build/release check [--config .goreleaser.yaml] [--dist DIR] [--require-wine] [--require-ruby]   (make release-check)
//
// snapshot builds the commit checked out (HEAD; uncommitted changes are not
// in it) from a clean clone, and writes to the config's dist directory: one
// archive per platform (tar.gz, zip on Windows), a CycloneDX SBOM per
// archive, SHA256SUMS over both, and the Homebrew formula. The same commit
// gives the same bytes: fixed times (the commit's), owner root, sorted
// entries, reproducible Go builds.
//
// goreleaser itself is not used here: its module is not an approved
// release in this project's package list; CI's release workflow runs the
// real one on a tag.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/gcrcred/gcrcred/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = "usage: go run ./build/release snapshot [--config FILE] [--out DIR] | check [--config FILE] [--dist DIR] [--require-wine] [--require-ruby]\n"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "snapshot" && args[0] != "check") {
		fmt.Fprint(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("config", ".goreleaser.yaml", "the goreleaser configuration")
	out := fs.String("out", "", "where snapshot writes (default: the config's dist)")
	dist := fs.String("dist", "", "the release check reads (default: the config's dist)")
	var opts checkOptions
	fs.BoolVar(&opts.requireWine, "require-wine", false, "fail unless the windows/amd64 binaries run under Wine (CI installs it)")
	fs.BoolVar(&opts.requireRuby, "require-ruby", false, "fail unless ruby checks the formula's syntax")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	cfg, err := loadConfig(*cfgFile)
	if err != nil {
		fmt.Fprintf(stderr, "release: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	if args[0] == "check" {
		if *dist == "" {
			*dist = cfg.Dist
		}
		if err := check(ctx, cfg, *dist, opts, stdout); err != nil {
			fmt.Fprintf(stderr, "release check: %v\n", err)
			return 1
		}
		return 0
	}
	if *out == "" {
		*out = cfg.Dist
	}
	start := time.Now()
	if err := snapshot(ctx, cfg, ".", *out, stdout); err != nil {
		fmt.Fprintf(stderr, "release: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "release snapshot in %s (%.1fs); check it with `make release-check`\n", *out, time.Since(start).Seconds())
	return 0
}

// snapshot builds the release of the commit checked out in repo into out.
func snapshot(ctx context.Context, cfg *config, repo, out string, log io.Writer) error {
	tmp, err := os.MkdirTemp("", "gcrcred-release-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	src, err := checkout(ctx, repo, tmp)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "building commit %.12s (%s)\n", src.Commit, src.Time.Format(time.RFC3339))
	if src.Dirty {
		fmt.Fprintln(log, "  note: the working tree has uncommitted changes; they are not in this release (it is built from the commit)")
	}
	bl := &builder{src: src, out: filepath.Join(tmp, "build"), done: map[string]string{}, log: log}
	files, err := buildRelease(ctx, cfg, src, bl.build, out)
	if err != nil {
		return err
	}
	for _, f := range files {
		fi, err := os.Stat(filepath.Join(out, f))
		if err != nil {
			return err
		}
		fmt.Fprintf(log, "  %10d  %s\n", fi.Size(), f)
	}
	return nil
}

// buildFunc makes the binary of a build for a platform and returns its path.
type buildFunc func(ctx context.Context, b buildConfig, p platform) (string, error)

// buildRelease writes every archive (with binaries from build), SBOM, the
// checksums and the formula of src into out (emptied first) and lists what
// it wrote.
func buildRelease(ctx context.Context, cfg *config, src *source, build buildFunc, out string) ([]string, error) {
	if err := os.RemoveAll(out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	var sums []string
	var formula []formulaArchive
	releaseVersion := ""
	for _, a := range cfg.Archives {
		for _, p := range cfg.platformsOf(a.IDs) {
			entries, err := cfg.entries(a, p, src.Dir)
			if err != nil {
				return nil, err
			}
			var members []member
			program := ""
			for _, e := range entries {
				m := member{Name: e.Name, Mode: e.Mode}
				switch {
				case e.Source == "":
					if m.Path, err = build(ctx, e.Binary, p); err != nil {
						return nil, err
					}
					if e.Binary.Binary == cfg.ProjectName {
						program = m.Path
					}
				case e.Symlink:
					if m.Linkname, err = os.Readlink(filepath.Join(src.Dir, e.Source)); err != nil {
						return nil, err
					}
				default:
					m.Path = filepath.Join(src.Dir, e.Source)
				}
				members = append(members, m)
			}
			if program == "" {
				return nil, fmt.Errorf("archive %q for %s has no %s binary", a.ID, p, cfg.ProjectName)
			}
			info, err := version.Read(program)
			if err != nil {
				return nil, err
			}
			if releaseVersion == "" {
				releaseVersion = info.Version
			} else if info.Version != releaseVersion {
				return nil, fmt.Errorf("the binaries disagree on the version (%s, %s)", releaseVersion, info.Version)
			}
			name := cfg.archiveName(a, info.Version, p)
			if err := writeArchive(filepath.Join(out, name), a.Formats[0], members, src.Time); err != nil {
				return nil, fmt.Errorf("%s: %v", name, err)
			}
			if err := writeSBOM(filepath.Join(out, name+".sbom.json"), name, program, src.Time); err != nil {
				return nil, fmt.Errorf("%s: %v", name, err)
			}
			sums = append(sums, name, name+".sbom.json")
			if contains(cfg.Brews[0].IDs, a.ID) {
				sum, err := fileSHA256(filepath.Join(out, name))
				if err != nil {
					return nil, err
				}
				formula = append(formula, formulaArchive{Platform: p, Name: name, SHA256: sum})
			}
		}
	}
	if err := writeChecksums(out, sums); err != nil {
		return nil, err
	}
	text := renderFormula(cfg, releaseVersion, formula)
	if err := os.WriteFile(filepath.Join(out, formulaName), []byte(text), 0o644); err != nil {
		return nil, err
	}
	files := append(append([]string{}, sums...), checksumsName, formulaName)
	sort.Strings(files)
	return files, nil
}

// writeChecksums writes SHA256SUMS for names (in out), sorted, in
// sha256sum's format: `sha256sum -c SHA256SUMS` checks it.
func writeChecksums(out string, names []string) error {
	sorted := append([]string{}, names...)
	sort.Strings(sorted)
	var b strings.Builder
	for _, n := range sorted {
		sum, err := fileSHA256(filepath.Join(out, n))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, n)
	}
	return os.WriteFile(filepath.Join(out, checksumsName), []byte(b.String()), 0o644)
}

// readChecksums parses SHA256SUMS: name -> hex sum.
func readChecksums(dir string) (map[string]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, checksumsName))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for i, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if _, err := hex.DecodeString(sum); !ok || err != nil || len(sum) != 2*sha256.Size || name == "" || strings.ContainsAny(name, "/\\") {
			return nil, fmt.Errorf("%s line %d is not `SHA256  NAME`", checksumsName, i+1)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%s names %s twice", checksumsName, name)
		}
		out[name] = sum
	}
	if len(out) == 0 {
		return nil, errors.New(checksumsName + " is empty")
	}
	return out, nil
}

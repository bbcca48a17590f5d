package main

import (
	"fmt"
	"strings"
)

// formulaArchive is one archive a Homebrew formula installs from.
type formulaArchive struct {
	Platform platform
	Name     string // file name
	SHA256   string
}

// renderFormula writes the Homebrew formula goreleaser's brews section
// describes (the layout of its formula template: on_macos / on_linux, one
// url and sha256 per CPU, the install and test blocks of .goreleaser.yaml),
// for the archives of this release. goreleaser publishes its own; this one
// lets `make release-check` check the Ruby (`ruby -c`) offline.
func renderFormula(c *config, version string, archives []formulaArchive) string {
	b := c.Brews[0]
	url := func(name string) string {
		return fmt.Sprintf("https://github.com/%s/%s/releases/download/%s/%s", c.Release.GitHub.Owner, c.Release.GitHub.Name, version, name)
	}
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	block := func(indent, text string) {
		for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			if l == "" {
				p("\n")
			} else {
				p("%s%s\n", indent, l)
			}
		}
	}
	p("# typed: false\n# frozen_string_literal: true\n\n")
	p("# Rendered by build/release from .goreleaser.yaml (brews); goreleaser publishes the same on a release.\n")
	p("class %s < Formula\n", className(b.Name))
	p("  desc %q\n  homepage %q\n  version %q\n  license %q\n", b.Description, b.Homepage, strings.TrimPrefix(version, "v"), b.License)
	for _, osName := range []string{"darwin", "linux"} {
		var these []formulaArchive
		for _, a := range archives {
			if a.Platform.OS == osName {
				these = append(these, a)
			}
		}
		if len(these) == 0 {
			continue
		}
		if osName == "darwin" {
			p("\n  on_macos do\n")
		} else {
			p("\n  on_linux do\n")
		}
		for _, a := range these {
			cond := map[string]string{"amd64": "Hardware::CPU.intel?", "arm64": "Hardware::CPU.arm?"}[a.Platform.Arch]
			if osName == "linux" {
				cond += " && Hardware::CPU.is_64_bit?"
			}
			p("    if %s\n", cond)
			p("      url %q\n      sha256 %q\n\n", url(a.Name), a.SHA256)
			p("      define_method(:install) do\n")
			block("        ", b.Install)
			p("      end\n    end\n")
		}
		p("  end\n")
	}
	p("\n  test do\n")
	block("    ", b.Test)
	p("  end\nend\n")
	return w.String()
}

// className is Homebrew's class name for a formula name ("gcrcred" ->
// "Gcrcred", "foo-bar" -> "FooBar").
func className(name string) string {
	var out strings.Builder
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		out.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return out.String()
}

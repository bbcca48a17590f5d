package main

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/gcrcred/gcrcred/internal/version"
)

// sbomSpec is the CycloneDX version written: 1.6 is what current scanners
// (syft, grype, trivy, Dependency-Track) all read.
const sbomSpec = cdx.SpecVersion1_6

// binaryRef is the bom-ref of an archive's gcrcred program.
const binaryRef = "gcrcred-binary"

// writeSBOM describes archive (its file name) and the gcrcred binary in it:
// the program with its version and SHA-256, and every Go module linked
// into it, from the binary's own build information, with the version and
// the module hash go.sum holds. Written with CycloneDX's own Go library;
// the timestamp is the commit's and the serial number is derived from the
// content, so the same commit gives the same document.
func writeSBOM(path, archive, binary string, commitTime time.Time) error {
	bi, err := buildinfo.ReadFile(binary)
	if err != nil {
		return fmt.Errorf("%s: no Go build information (%v)", binary, err)
	}
	sum, err := fileSHA256(binary)
	if err != nil {
		return err
	}
	info, err := version.Read(binary)
	if err != nil {
		return err
	}
	goos, goarch, v := info.OS, info.Arch, info.Version
	program := cdx.Component{
		BOMRef: binaryRef, Type: cdx.ComponentTypeApplication, Name: "gcrcred", Version: v,
		PackageURL: purl(bi.Main.Path, v) + "?goos=" + goos + "&goarch=" + goarch,
		Hashes:     &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: sum}},
		Properties: &[]cdx.Property{
			{Name: "gcrcred:main-package", Value: bi.Path},
			{Name: "gcrcred:go-version", Value: bi.GoVersion},
			{Name: "gcrcred:platform", Value: goos + "/" + goarch},
		},
	}
	components := []cdx.Component{program}
	var refs []string
	for _, d := range modules(bi) {
		c := cdx.Component{BOMRef: purl(d.Path, d.Version), Type: cdx.ComponentTypeLibrary, Name: d.Path, Version: d.Version, PackageURL: purl(d.Path, d.Version)}
		if h, ok := moduleHash(d.Sum); ok {
			c.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: h}}
			c.Properties = &[]cdx.Property{{Name: "gcrcred:go-sum", Value: d.Sum}}
		}
		components = append(components, c)
		refs = append(refs, c.BOMRef)
	}
	stdlib := cdx.Component{BOMRef: "pkg:golang/stdlib@" + strings.TrimPrefix(bi.GoVersion, "go"), Type: cdx.ComponentTypeLibrary,
		Name: "stdlib", Version: bi.GoVersion, PackageURL: "pkg:golang/stdlib@" + strings.TrimPrefix(bi.GoVersion, "go")}
	components = append(components, stdlib)
	refs = append(refs, stdlib.BOMRef)

	bom := cdx.NewBOM()
	bom.Metadata = &cdx.Metadata{
		Timestamp: commitTime.UTC().Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: "gcrcred build/release", Version: v,
		}}},
		Component: &cdx.Component{BOMRef: archive, Type: cdx.ComponentTypeFile, Name: archive, Version: v},
	}
	bom.Components = &components
	bom.Dependencies = &[]cdx.Dependency{
		{Ref: archive, Dependencies: &[]string{binaryRef}},
		{Ref: binaryRef, Dependencies: &refs},
	}
	var body bytes.Buffer
	if err := encodeSBOM(&body, bom); err != nil {
		return err
	}
	id := sha256.Sum256(body.Bytes())
	bom.SerialNumber = "urn:uuid:" + uuidOf(id[:16])
	body.Reset()
	if err := encodeSBOM(&body, bom); err != nil {
		return err
	}
	return os.WriteFile(path, body.Bytes(), 0o644)
}

func encodeSBOM(b *bytes.Buffer, bom *cdx.BOM) error {
	enc := cdx.NewBOMEncoder(b, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	return enc.EncodeVersion(bom, sbomSpec)
}

// modules are the binary's dependencies as linked (a replaced module as
// its replacement), sorted by path.
func modules(bi *debug.BuildInfo) []*debug.Module {
	var out []*debug.Module
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// moduleHash is go.sum's "h1:" hash (a SHA-256 over the module's files) in
// hex, as SBOM tools write Go module hashes.
func moduleHash(sum string) (string, bool) {
	b64, ok := strings.CutPrefix(sum, "h1:")
	if !ok {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != sha256.Size {
		return "", false
	}
	return hex.EncodeToString(raw), true
}

// purl is a Go module's package URL.
func purl(path, version string) string { return "pkg:golang/" + path + "@" + version }

func setting(bi *debug.BuildInfo, key string) string {
	for _, s := range bi.Settings {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}

// uuidOf formats 16 bytes as a version 5-style UUID (name-based).
func uuidOf(b []byte) string {
	u := append([]byte{}, b[:16]...)
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func fileSHA256(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:]), nil
}

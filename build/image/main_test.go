package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// fakeELF is the smallest ELF executable header debug/elf accepts, for the
// given machine, followed by payload so that two fakes differ in content.
// With interp it declares a dynamic loader, as a cgo build would.
func fakeELF(t *testing.T, machine elf.Machine, interp bool, payload string) []byte {
	t.Helper()
	const ehsize, phentsize = 64, 56
	interpPath := []byte("/lib64/ld-linux-x86-64.so.2\x00")
	progs := []elf.Prog64{{Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_X), Align: 0x1000}}
	if interp {
		off := uint64(ehsize + 2*phentsize)
		progs = append([]elf.Prog64{{Type: uint32(elf.PT_INTERP), Flags: uint32(elf.PF_R), Off: off, Filesz: uint64(len(interpPath)), Memsz: uint64(len(interpPath)), Align: 1}}, progs...)
	}
	hdr := elf.Header64{
		Type:      uint16(elf.ET_EXEC),
		Machine:   uint16(machine),
		Version:   uint32(elf.EV_CURRENT),
		Phoff:     ehsize,
		Ehsize:    ehsize,
		Phentsize: phentsize,
		Phnum:     uint16(len(progs)),
	}
	copy(hdr.Ident[:], []byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)})
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, hdr); err != nil {
		t.Fatal(err)
	}
	for _, p := range progs {
		if err := binary.Write(&buf, binary.LittleEndian, p); err != nil {
			t.Fatal(err)
		}
	}
	if interp {
		buf.Write(interpPath)
	}
	buf.WriteString(payload)
	return buf.Bytes()
}

func writeTemp(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// fakeBinaries writes an amd64 and an arm64 fake with distinct contents.
func fakeBinaries(t *testing.T) (amd64, arm64 string, amd64Data, arm64Data []byte) {
	t.Helper()
	dir := t.TempDir()
	amd64Data = fakeELF(t, elf.EM_X86_64, false, "gcrcred for amd64")
	arm64Data = fakeELF(t, elf.EM_AARCH64, false, "gcrcred for arm64")
	return writeTemp(t, dir, "gcrcred-linux-amd64", amd64Data), writeTemp(t, dir, "gcrcred-linux-arm64", arm64Data), amd64Data, arm64Data
}

// runImage runs the program's entry point and fails the test on a non-zero
// exit, returning stdout.
func runImage(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("image %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
	}
	return stdout.String()
}

// openLayout unpacks an OCI layout tarball and opens it with
// go-containerregistry's own layout reader.
func openLayout(t *testing.T, tarball string) (layout.Path, v1.ImageIndex) {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, hdr.Name)
		if hdr.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(path, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatalf("%s is not an OCI layout: %v", tarball, err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	return p, top
}

func TestImageLayout(t *testing.T) {
	amd64, arm64, amd64Data, arm64Data := fakeBinaries(t)
	out := filepath.Join(t.TempDir(), "dist", "gcrcred-image.tar")
	stdout := runImage(t, "--out", out, "--version", "v1.2.3", "--revision", "0123abc", "--created", "1700000000",
		"linux/amd64="+amd64, "linux/arm64="+arm64)
	if !strings.Contains(stdout, "docker.io/library/gcrcred:v1.2.3") || !strings.Contains(stdout, "ctr -n k8s.io images import") {
		t.Errorf("the summary does not say the image's name and how to import it:\n%s", stdout)
	}

	_, top := openLayout(t, out)
	topManifest, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(topManifest.Manifests) != 1 {
		t.Fatalf("index.json lists %d entries, want the one multi-arch index", len(topManifest.Manifests))
	}
	entry := topManifest.Manifests[0]
	// containerd names the image from io.containerd.image.name verbatim; the
	// kubelet asks for "gcrcred:v1.2.3", which containerd's CRI plugin
	// normalises to exactly this.
	if got := entry.Annotations[annotationContainerdName]; got != "docker.io/library/gcrcred:v1.2.3" {
		t.Errorf("%s = %q, want docker.io/library/gcrcred:v1.2.3", annotationContainerdName, got)
	}
	if got := entry.Annotations[annotationRefName]; got != "v1.2.3" {
		t.Errorf("%s = %q, want the tag v1.2.3", annotationRefName, got)
	}
	if entry.MediaType != types.OCIImageIndex {
		t.Errorf("index.json's entry is a %s, want an OCI image index", entry.MediaType)
	}

	idx, err := top.ImageIndex(entry.Digest)
	if err != nil {
		t.Fatal(err)
	}
	checkBlobs(t, out)
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.Annotations["org.opencontainers.image.revision"] != "0123abc" || im.Annotations["org.opencontainers.image.version"] != "v1.2.3" {
		t.Errorf("index annotations %v lack the version and revision", im.Annotations)
	}
	want := map[string][]byte{"linux/amd64": amd64Data, "linux/arm64": arm64Data}
	if len(im.Manifests) != len(want) {
		t.Fatalf("the index has %d images, want %d", len(im.Manifests), len(want))
	}
	created := time.Unix(1700000000, 0).UTC()
	for _, desc := range im.Manifests {
		plat := desc.Platform.String()
		data, ok := want[plat]
		if !ok {
			t.Errorf("unexpected platform %s", plat)
			continue
		}
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
			t.Errorf("%s: manifest media type %s, want OCI", plat, mt)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.OS+"/"+cf.Architecture != plat {
			t.Errorf("%s: config says %s/%s", plat, cf.OS, cf.Architecture)
		}
		if !cf.Created.Time.Equal(created) {
			t.Errorf("%s: created %v, want %v", plat, cf.Created.Time, created)
		}
		if strings.Join(cf.Config.Entrypoint, " ") != "/gcrcred" || cf.Config.User != "" {
			t.Errorf("%s: entrypoint %q user %q; want /gcrcred, and the user left to the pod spec", plat, cf.Config.Entrypoint, cf.Config.User)
		}
		for k, v := range map[string]string{
			"org.opencontainers.image.source":   "https://github.com/gcrcred/gcrcred",
			"org.opencontainers.image.version":  "v1.2.3",
			"org.opencontainers.image.revision": "0123abc",
			"org.opencontainers.image.created":  "2023-11-14T22:13:20Z",
		} {
			if cf.Config.Labels[k] != v {
				t.Errorf("%s: label %s = %q, want %q", plat, k, cf.Config.Labels[k], v)
			}
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		if len(layers) != 1 {
			t.Fatalf("%s: %d layers, want 1", plat, len(layers))
		}
		files := layerFiles(t, mutate.Extract(img))
		if len(files) != 1 {
			t.Errorf("%s: the image holds %d files, want only gcrcred", plat, len(files))
		}
		f, ok := files["gcrcred"]
		if !ok {
			t.Fatalf("%s: no /gcrcred in the image (files: %v)", plat, files)
		}
		if !bytes.Equal(f.data, data) {
			t.Errorf("%s: /gcrcred is not the binary given for this platform", plat)
		}
		if f.hdr.Mode != 0o755 || f.hdr.Uid != 0 || f.hdr.Gid != 0 || !f.hdr.ModTime.Equal(created) {
			t.Errorf("%s: /gcrcred has mode %o uid %d gid %d mtime %v, want 0755 root root %v", plat, f.hdr.Mode, f.hdr.Uid, f.hdr.Gid, f.hdr.ModTime, created)
		}
	}
}

type layerFile struct {
	hdr  *tar.Header
	data []byte
}

func layerFiles(t *testing.T, rc io.ReadCloser) map[string]layerFile {
	t.Helper()
	defer rc.Close()
	files := map[string]layerFile{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[hdr.Name] = layerFile{hdr, data}
	}
}

// TestImageReproducible: the same binaries and flags give the same tarball
// byte for byte (so the same digests), wherever the inputs sit and whatever
// their file times; a different input gives a different digest.
func TestImageReproducible(t *testing.T) {
	amd64, arm64, amd64Data, _ := fakeBinaries(t)
	args := []string{"--version", "v1.2.3", "--revision", "0123abc", "--created", "2026-01-02T03:04:05Z"}
	build := func(amd64, arm64 string, extra ...string) (sum string, index v1.Hash) {
		out := filepath.Join(t.TempDir(), "img.tar")
		said := runImage(t, append(append(append([]string{"--out", out}, args...), extra...), "linux/amd64="+amd64, "linux/arm64="+arm64)...)
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		_, top := openLayout(t, out)
		m, err := top.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		// make image prints the index digest, and the overlay line pins it.
		d := m.Manifests[0].Digest.String()
		if !strings.Contains(said, "\ndigest: "+d+"\n") || !strings.Contains(said, "digest: "+d+"}]") {
			t.Errorf("the output does not give the index digest %s:\n%s", d, said)
		}
		return fmt.Sprintf("%x", sha256.Sum256(data)), m.Manifests[0].Digest
	}

	sum1, idx1 := build(amd64, arm64)
	// Copies elsewhere, with other modification times.
	dir := t.TempDir()
	amd64Copy := writeTemp(t, dir, "a", amd64Data)
	arm64Data, _ := os.ReadFile(arm64)
	arm64Copy := writeTemp(t, dir, "b", arm64Data)
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(amd64Copy, later, later); err != nil {
		t.Fatal(err)
	}
	sum2, idx2 := build(amd64Copy, arm64Copy)
	if sum1 != sum2 || idx1 != idx2 {
		t.Errorf("two builds of the same inputs differ: tarball %s vs %s, index %s vs %s", sum1, sum2, idx1, idx2)
	}

	_, idxCreated := build(amd64, arm64, "--created", "2026-01-02T03:04:06Z")
	if idxCreated == idx1 {
		t.Errorf("another creation time gave the same digest %s", idx1)
	}
	other := writeTemp(t, dir, "c", fakeELF(t, elf.EM_X86_64, false, "another gcrcred"))
	if _, idxOther := build(other, arm64); idxOther == idx1 {
		t.Errorf("another binary gave the same digest %s", idx1)
	}
	// SOURCE_DATE_EPOCH is the default creation time, as reproducible
	// build tools expect.
	t.Setenv("SOURCE_DATE_EPOCH", "1767323045") // 2026-01-02T03:04:05Z
	out := filepath.Join(t.TempDir(), "img.tar")
	runImage(t, "--out", out, "--version", "v1.2.3", "--revision", "0123abc", "linux/amd64="+amd64, "linux/arm64="+arm64)
	_, top := openLayout(t, out)
	if m, _ := top.IndexManifest(); m.Manifests[0].Digest != idx1 {
		t.Errorf("SOURCE_DATE_EPOCH=1767323045 gave %s, --created 2026-01-02T03:04:05Z gave %s", m.Manifests[0].Digest, idx1)
	}
}

// TestImageRefusesBadInput: what would fail on a node is refused here, with
// the next step in the message.
func TestImageRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	amd64, arm64, _, _ := fakeBinaries(t)
	dynamic := writeTemp(t, dir, "dynamic", fakeELF(t, elf.EM_X86_64, true, "cgo build"))
	script := writeTemp(t, dir, "script", []byte("#!/bin/sh\necho hi\n"))
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"wrong architecture", []string{"--version", "v1", "linux/amd64=" + arm64}, "is for EM_AARCH64, not linux/amd64"},
		{"dynamically linked", []string{"--version", "v1", "linux/amd64=" + dynamic}, "CGO_ENABLED=0"},
		{"not ELF", []string{"--version", "v1", "linux/amd64=" + script}, "make dist"},
		{"missing file", []string{"--version", "v1", "linux/amd64=" + filepath.Join(dir, "nope")}, "make dist"},
		{"no version", []string{"linux/amd64=" + amd64}, "give --version"},
		{"no binaries", []string{"--version", "v1"}, "no binaries"},
		{"not OS/ARCH=FILE", []string{"--version", "v1", amd64}, "want OS/ARCH=FILE"},
		{"not linux", []string{"--version", "v1", "darwin/arm64=" + arm64}, "OS must be linux"},
		{"platform twice", []string{"--version", "v1", "linux/amd64=" + amd64, "linux/amd64=" + amd64}, "given twice"},
		{"bad tag", []string{"--version", "v1", "--tag", "v1+build", "linux/amd64=" + amd64}, "is not an image reference"},
		{"bad time", []string{"--version", "v1", "--created", "yesterday", "linux/amd64=" + amd64}, "neither Unix seconds nor RFC 3339"},
		{"flag after binaries", []string{"--version", "v1", "linux/amd64=" + amd64, "--push", "r.example/x:v1"}, "flags go first"},
		{"push without tag", []string{"--version", "v1", "--push", "r.example/x@sha256:abc", "linux/amd64=" + amd64}, "--push"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "img.tar")
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"--out", out}, c.args...), &stdout, &stderr)
			if code == 0 || !strings.Contains(stderr.String(), c.want) {
				t.Errorf("exit %d, stderr %q; want a failure saying %q", code, stderr.String(), c.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a refused build still wrote %s", out)
			}
		})
	}
}

// TestImageRealBinary: a real static Go build passes the ELF checks and
// lands in the image unchanged (the fakes above only mimic its headers).
func TestImageRealBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go program")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go on PATH")
	}
	dir := t.TempDir()
	writeTemp(t, dir, "main.go", []byte("package main\n\nfunc main() {}\n"))
	writeTemp(t, dir, "go.mod", []byte("module hello\n\ngo 1.21\n"))
	cmd := exec.Command(goBin, "build", "-trimpath", "-o", "hello", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	bin := filepath.Join(dir, "hello")
	out := filepath.Join(dir, "img.tar")
	runImage(t, "--out", out, "--version", "v1", "linux/arm64="+bin)
	_, top := openLayout(t, out)
	m, _ := top.IndexManifest()
	idx, err := top.ImageIndex(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	img, err := idx.Image(mustIndexManifest(t, idx).Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(bin)
	if got := layerFiles(t, mutate.Extract(img))["gcrcred"]; !bytes.Equal(got.data, want) {
		t.Errorf("/gcrcred in the image is not the Go binary given")
	}
}

func mustIndexManifest(t *testing.T, idx v1.ImageIndex) *v1.IndexManifest {
	t.Helper()
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestImagePush: --push uploads the same index (same digest) that the
// tarball holds, to a registry on loopback.
func TestImagePush(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no credentials of the developer's
	amd64, arm64, _, _ := fakeBinaries(t)
	dest := u.Host + "/tools/gcrcred:v1.2.3"
	out := filepath.Join(t.TempDir(), "img.tar")
	stdout := runImage(t, "--out", out, "--push", dest, "--version", "v1.2.3", "linux/amd64="+amd64, "linux/arm64="+arm64)

	_, top := openLayout(t, out)
	local := mustIndexManifest(t, top).Manifests[0].Digest
	if !strings.Contains(stdout, "pushed "+dest+"@"+local.String()) {
		t.Errorf("stdout does not report the push of %s:\n%s", local, stdout)
	}
	ref, err := name.ParseReference(dest)
	if err != nil {
		t.Fatal(err)
	}
	remoteIdx, err := remote.Index(ref)
	if err != nil {
		t.Fatalf("reading back %s: %v", dest, err)
	}
	if d, _ := remoteIdx.Digest(); d != local {
		t.Errorf("the registry has %s, the tarball %s", d, local)
	}
	for _, desc := range mustIndexManifest(t, remoteIdx).Manifests {
		img, err := remoteIdx.Image(desc.Digest)
		if err != nil {
			t.Fatalf("reading back %s's %s image: %v", dest, desc.Platform, err)
		}
		if files := layerFiles(t, mutate.Extract(img)); len(files) != 1 {
			t.Errorf("the pushed %s image holds %d files, want only gcrcred", desc.Platform, len(files))
		}
	}
}

func TestReference(t *testing.T) {
	cases := []struct{ name, tag, full string }{
		{"gcrcred", "v1", "docker.io/library/gcrcred:v1"},
		{"docker.io/library/gcrcred", "v1", "docker.io/library/gcrcred:v1"},
		{"me/gcrcred", "v1", "docker.io/me/gcrcred:v1"},
		{"europe-docker.pkg.dev/p/r/gcrcred", "0123abc-dirty", "europe-docker.pkg.dev/p/r/gcrcred:0123abc-dirty"},
		{"localhost:5000/gcrcred", "v1", "localhost:5000/gcrcred:v1"},
	}
	for _, c := range cases {
		o := options{name: c.name, tag: c.tag}
		ref, err := o.reference()
		if err != nil || ref.full != c.full || ref.tag != c.tag {
			t.Errorf("--name %s --tag %s: %+v, %v; want %s", c.name, c.tag, ref, err, c.full)
		}
	}
}

// The layout's index.json is plain JSON a reader can take apart by hand;
// this is what `ctr images import` reads first.
func TestIndexJSON(t *testing.T) {
	amd64, _, _, _ := fakeBinaries(t)
	out := filepath.Join(t.TempDir(), "img.tar")
	runImage(t, "--out", out, "--version", "v9", "--name", "europe-docker.pkg.dev/p/r/gcrcred", "linux/amd64="+amd64)
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var order []string
	var index struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Manifests     []struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		order = append(order, hdr.Name)
		if hdr.Name == "index.json" {
			if err := json.NewDecoder(tr).Decode(&index); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(order) < 2 || order[0] != "oci-layout" || order[1] != "index.json" {
		t.Errorf("tarball starts %v; want oci-layout, index.json", order)
	}
	if index.SchemaVersion != 2 || index.MediaType != string(types.OCIImageIndex) || len(index.Manifests) != 1 {
		t.Fatalf("index.json: %+v", index)
	}
	if got := index.Manifests[0].Annotations[annotationContainerdName]; got != "europe-docker.pkg.dev/p/r/gcrcred:v9" {
		t.Errorf("%s = %q", annotationContainerdName, got)
	}
}

// checkBlobs recomputes what a registry or containerd would check on
// import: every blob's content matches its name, every descriptor from
// index.json down names a blob of its size, and every layer's diff ID in
// its config is the digest of the layer uncompressed.
func checkBlobs(t *testing.T, tarball string) {
	t.Helper()
	f, err := os.Open(tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	blobs := map[string][]byte{}
	var indexJSON []byte
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if hex, ok := strings.CutPrefix(hdr.Name, "blobs/sha256/"); ok && hex != "" {
			if got := fmt.Sprintf("%x", sha256.Sum256(data)); got != hex {
				t.Errorf("blob %s has content with digest %s", hdr.Name, got)
			}
			blobs["sha256:"+hex] = data
		}
		if hdr.Name == "index.json" {
			indexJSON = data
		}
	}
	used := map[string]bool{}
	blob := func(d v1.Descriptor) []byte {
		t.Helper()
		data, ok := blobs[d.Digest.String()]
		if !ok {
			t.Fatalf("%s %s is not in the tarball", d.MediaType, d.Digest)
		}
		if int64(len(data)) != d.Size {
			t.Errorf("%s %s: descriptor says %d bytes, blob has %d", d.MediaType, d.Digest, d.Size, len(data))
		}
		used[d.Digest.String()] = true
		return data
	}
	var top, idx v1.IndexManifest
	if err := json.Unmarshal(indexJSON, &top); err != nil || len(top.Manifests) != 1 {
		t.Fatalf("index.json: %v, %d entries", err, len(top.Manifests))
	}
	if err := json.Unmarshal(blob(top.Manifests[0]), &idx); err != nil {
		t.Fatal(err)
	}
	for _, d := range idx.Manifests {
		var m v1.Manifest
		if err := json.Unmarshal(blob(d), &m); err != nil {
			t.Fatal(err)
		}
		var cf v1.ConfigFile
		if err := json.Unmarshal(blob(m.Config), &cf); err != nil {
			t.Fatal(err)
		}
		if len(cf.RootFS.DiffIDs) != len(m.Layers) {
			t.Fatalf("%s: %d layers, %d diff IDs", d.Platform, len(m.Layers), len(cf.RootFS.DiffIDs))
		}
		for i, l := range m.Layers {
			if l.MediaType != types.OCILayer {
				t.Errorf("%s: layer media type %s, want %s", d.Platform, l.MediaType, types.OCILayer)
			}
			zr, err := gzip.NewReader(bytes.NewReader(blob(l)))
			if err != nil {
				t.Fatal(err)
			}
			h, _, err := v1.SHA256(zr)
			if err != nil {
				t.Fatal(err)
			}
			if h != cf.RootFS.DiffIDs[i] {
				t.Errorf("%s: layer %d uncompressed is %s, its config says %s", d.Platform, i, h, cf.RootFS.DiffIDs[i])
			}
		}
	}
	if len(used) != len(blobs) {
		t.Errorf("the tarball holds %d blobs, the index references %d", len(blobs), len(used))
	}
}

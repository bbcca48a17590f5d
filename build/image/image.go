package main

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gcrcred/gcrcred/internal/ociimage"
)

// binaryPath is where the binary sits in the image, and the entrypoint.
const binaryPath = "/gcrcred"

type options struct {
	out                       string
	name, tag                 string
	version, revision, source string
	created                   time.Time
	binaries                  []input
}

type input struct {
	platform v1.Platform
	path     string
}

// elfMachines maps the architectures gcrcred is built for to what their
// ELF headers say, so a binary given for the wrong platform is refused
// here rather than failing as "exec format error" on some node.
var elfMachines = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"arm64":   elf.EM_AARCH64,
	"arm":     elf.EM_ARM,
	"386":     elf.EM_386,
	"ppc64le": elf.EM_PPC64,
	"s390x":   elf.EM_S390,
	"riscv64": elf.EM_RISCV,
}

func parsePlatform(s string) (v1.Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return v1.Platform{}, fmt.Errorf("platform %q: want OS/ARCH or OS/ARCH/VARIANT, e.g. linux/arm64", s)
	}
	p := v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	if p.OS != "linux" {
		return v1.Platform{}, fmt.Errorf("platform %q: the image is for Kubernetes nodes, OS must be linux", s)
	}
	if _, ok := elfMachines[p.Architecture]; !ok {
		return v1.Platform{}, fmt.Errorf("platform %q: unknown architecture %q (known: amd64, arm64, arm, 386, ppc64le, s390x, riscv64)", s, p.Architecture)
	}
	return p, nil
}

// checkBinary refuses anything but a statically linked ELF executable for
// the platform: the image has no libc and no dynamic loader, so a
// dynamically linked binary would fail at start with a bare "no such file
// or directory".
func checkBinary(b input) error {
	f, err := elf.Open(b.path)
	if err != nil {
		return fmt.Errorf("binary %s for %s: %w (build it with `make dist`)", b.path, b.platform, err)
	}
	defer f.Close()
	want := elfMachines[b.platform.Architecture]
	if f.Machine != want {
		return fmt.Errorf("binary %s is for %s, not %s: give the %s build (`make dist` writes dist/gcrcred-linux-%s)",
			b.path, f.Machine, b.platform, b.platform.Architecture, b.platform.Architecture)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("binary %s is an ELF %s, not an executable", b.path, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("binary %s is dynamically linked, but the image has no libc or loader: build it with CGO_ENABLED=0 (`make dist` does)", b.path)
		}
	}
	return nil
}

// labels are the OCI annotation keys, used both as image config labels
// (what `docker inspect` and `crictl inspecti` show) and as manifest
// annotations (what registries show).
func (o *options) labels() map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       "gcrcred",
		"org.opencontainers.image.description": "Docker credential helper and kubelet image credential provider for gcr.io and Artifact Registry",
		"org.opencontainers.image.version":     o.version,
		"org.opencontainers.image.source":      o.source,
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.created":     o.created.Format(time.RFC3339),
	}
	if o.revision != "" {
		l["org.opencontainers.image.revision"] = o.revision
	}
	return l
}

// buildIndex makes the multi-arch image index: one image per binary, each
// a single layer holding only the binary.
func buildIndex(o options) (v1.ImageIndex, error) {
	labels := o.labels()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, b := range o.binaries {
		if err := checkBinary(b); err != nil {
			return nil, err
		}
		img, err := buildImage(b, o.created, labels)
		if err != nil {
			return nil, fmt.Errorf("image for %s: %w", b.platform, err)
		}
		p := b.platform
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	idx, ok := mutate.Annotations(idx, labels).(v1.ImageIndex)
	if !ok {
		return nil, errors.New("go-containerregistry returned no image index from mutate.Annotations")
	}
	return idx, nil
}

func buildImage(b input, created time.Time, labels map[string]string) (v1.Image, error) {
	data, err := os.ReadFile(b.path)
	if err != nil {
		return nil, err
	}
	img, err := ociimage.Image(ociimage.Program{
		Data:      data,
		Path:      binaryPath,
		Platform:  b.platform,
		Created:   created,
		CreatedBy: "gcrcred build/image: COPY gcrcred " + binaryPath,
		Config: v1.Config{
			Cmd: []string{"help"},
			// The image has no shell to read a profile, and `node install`
			// runs the host's own tools in a chroot: give them the usual PATH.
			Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			WorkingDir: "/",
			Labels:     labels,
		},
	})
	if err != nil {
		return nil, err
	}
	img, ok := mutate.Annotations(img, labels).(v1.Image)
	if !ok {
		return nil, errors.New("go-containerregistry returned no image from mutate.Annotations")
	}
	return img, nil
}

// imageRef is the name the tarball records for its index.
type imageRef struct {
	full       string // docker.io/library/gcrcred:v1, what containerd calls it
	repository string // gcrcred, or REGISTRY/REPO as given
	tag        string
}

// reference normalises --name and --tag the way containerd's CRI plugin
// does when the kubelet asks for image "gcrcred:TAG": Docker Hub's
// registry is docker.io (not go-containerregistry's index.docker.io) and a
// one-part name is under library/. An image imported under any other
// spelling would not be found by the kubelet.
func (o *options) reference() (imageRef, error) {
	t, err := name.NewTag(o.name + ":" + o.tag)
	if err != nil {
		return imageRef{}, fmt.Errorf("--name %q with --tag %q is not an image reference: %w", o.name, o.tag, err)
	}
	registry := t.RegistryStr()
	if registry == name.DefaultRegistry {
		registry = "docker.io"
	}
	return imageRef{
		full:       registry + "/" + t.RepositoryStr() + ":" + t.TagStr(),
		repository: o.name,
		tag:        t.TagStr(),
	}, nil
}

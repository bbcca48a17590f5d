// Command image builds gcrcred's container image without a Docker daemon: a
// multi-arch OCI image holding nothing but the static binary at /gcrcred,
// written as an OCI image-layout tarball that `ctr images import`,
// `kind load image-archive` and skopeo's oci-archive read, and optionally
// pushed to a registry. The same binaries and flags always give the same
// digests.
//
// Usage (`make image` runs it on what `make dist` built):
//
//	go run ./build/image [--version V] [--revision R] [--out dist/gcrcred-image.tar] [--push REF] \
//	    linux/amd64=dist/gcrcred-linux-amd64 linux/arm64=dist/gcrcred-linux-arm64
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gcrcred/gcrcred/internal/version"
)

const usage = `Usage: go run ./build/image [flags] OS/ARCH=BINARY...

Builds the gcrcred container image (the static binary at /gcrcred, also the
entrypoint) for every OS/ARCH=BINARY given, as one multi-arch OCI image.

Flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	var o options
	var created, push string
	fs.StringVar(&o.out, "out", "dist/gcrcred-image.tar", "OCI image-layout tarball to write (\"\" with --push: write none)")
	fs.StringVar(&push, "push", "", "also push the image index to this reference (REGISTRY/REPO:TAG), with Docker's credentials")
	fs.StringVar(&o.name, "name", "gcrcred", "image name recorded in the tarball; the deploy/ manifests call the image \"gcrcred\"")
	fs.StringVar(&o.tag, "tag", "", "tag recorded in the tarball (default: the version, + as -)")
	fs.StringVar(&o.version, "version", "", "gcrcred's version, for the labels and the tag (default: what the binaries say, as `gcrcred version`)")
	fs.StringVar(&o.revision, "revision", "", "the source revision (commit), for the labels (default: the binaries' commit)")
	fs.StringVar(&o.source, "source", "https://github.com/gcrcred/gcrcred", "source repository URL, for the labels")
	fs.StringVar(&created, "created", "", "the image's creation time, RFC 3339 or Unix seconds (default: $SOURCE_DATE_EPOCH, else 1970-01-01T00:00:00Z)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := o.complete(fs.Args(), created, os.Getenv("SOURCE_DATE_EPOCH")); err != nil {
		fmt.Fprintf(stderr, "image: %v\n", err)
		return 2
	}
	if o.out == "" && push == "" {
		fmt.Fprintln(stderr, "image: nothing to do: give --out FILE, --push REF or both")
		return 2
	}
	// Names are checked before the minutes-long part, not after it.
	ref, err := o.reference()
	if err != nil {
		fmt.Fprintf(stderr, "image: %v\n", err)
		return 2
	}
	var pushRef name.Tag
	if push != "" {
		if pushRef, err = name.NewTag(push); err != nil {
			fmt.Fprintf(stderr, "image: --push %q is not an image reference with a tag (want REGISTRY/REPOSITORY:TAG): %v\n", push, err)
			return 2
		}
	}

	idx, err := buildIndex(o)
	if err != nil {
		fmt.Fprintf(stderr, "image: %v\n", err)
		return 1
	}
	if o.out != "" {
		if err := writeLayoutFile(o.out, idx, ref, o.created); err != nil {
			fmt.Fprintf(stderr, "image: %v\n", err)
			return 1
		}
		if err := describe(stdout, o.out, idx, ref); err != nil {
			fmt.Fprintf(stderr, "image: %v\n", err)
			return 1
		}
	}
	repo := ref.repository
	digest, err := idx.Digest()
	if err != nil {
		fmt.Fprintf(stderr, "image: %v\n", err)
		return 1
	}
	if push != "" {
		if digest, err = pushIndex(ctx, idx, pushRef); err != nil {
			fmt.Fprintf(stderr, "image: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "pushed %s@%s\n", push, digest)
		repo = pushRef.Context().String()
	}
	// The index digest names this exact image on every registry it is
	// copied to; a tag can be moved, so the overlay pins the digest.
	fmt.Fprintf(stdout, "digest: %s\n", digest)
	fmt.Fprintf(stdout, "deploy it: images: [{name: gcrcred, newName: %s, digest: %s}] in your kustomization (README, Any cluster)\n", repo, digest)
	return 0
}

// complete checks the flags and the OS/ARCH=BINARY arguments and fills in
// the defaults.
func (o *options) complete(args []string, created, sourceDateEpoch string) error {
	if len(args) == 0 {
		return errors.New("no binaries: give OS/ARCH=FILE for each platform, e.g. linux/amd64=dist/gcrcred-linux-amd64 (`make dist` builds them)")
	}
	seen := map[string]bool{}
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			return fmt.Errorf("flag %s after the binaries: flags go first", a)
		}
		plat, path, ok := strings.Cut(a, "=")
		if !ok || path == "" {
			return fmt.Errorf("argument %q: want OS/ARCH=FILE, e.g. linux/arm64=dist/gcrcred-linux-arm64", a)
		}
		p, err := parsePlatform(plat)
		if err != nil {
			return fmt.Errorf("argument %q: %w", a, err)
		}
		if seen[p.String()] {
			return fmt.Errorf("platform %s given twice: one binary per platform", p)
		}
		seen[p.String()] = true
		o.binaries = append(o.binaries, input{platform: p, path: path})
	}
	if err := o.versionFromBinaries(); err != nil {
		return err
	}
	if o.tag == "" {
		o.tag = strings.ReplaceAll(o.version, "+", "-") // "+dirty": a tag may not hold "+"
	}
	if created == "" && sourceDateEpoch != "" {
		created = sourceDateEpoch
	}
	t, err := parseTime(created)
	if err != nil {
		return err
	}
	o.created = t
	return nil
}

// parseTime reads a creation time as Unix seconds (SOURCE_DATE_EPOCH's
// form) or RFC 3339. It is truncated to whole seconds, which is all a
// ustar header holds, so the layer and the config say the same time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return time.Time{}, fmt.Errorf("creation time %q is before 1970", s)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("creation time %q is neither Unix seconds nor RFC 3339 (e.g. 2026-01-02T15:04:05Z)", s)
	}
	if t.Unix() < 0 {
		return time.Time{}, fmt.Errorf("creation time %q is before 1970", s)
	}
	return t.UTC().Truncate(time.Second), nil
}

// versionFromBinaries fills in --version (and --revision) from what the
// binaries say about themselves (internal/version: what `gcrcred version`
// prints), so the labels and the tag cannot disagree with the program.
func (o *options) versionFromBinaries() error {
	if o.version != "" {
		return nil
	}
	for _, b := range o.binaries {
		i, err := version.Read(b.path)
		if err != nil {
			return fmt.Errorf("no --version given, and %v: give --version", err)
		}
		switch {
		case o.version == "":
			o.version = i.Version
			if o.revision == "" && i.Commit != "unknown" {
				o.revision = i.Commit
			}
		case o.version != i.Version:
			return fmt.Errorf("the binaries are of different versions (%s, %s): build them from one commit (make dist)", o.version, i.Version)
		}
	}
	return nil
}

// describe prints what was written and how to use it.
func describe(w io.Writer, path string, idx v1.ImageIndex, ref imageRef) error {
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s: %s, index %s\n", path, ref.full, digest)
	for _, m := range im.Manifests {
		fmt.Fprintf(w, "  %-12s %s\n", m.Platform, m.Digest)
	}
	fmt.Fprintf(w, "load it into a node's containerd: ctr -n k8s.io images import %s (kind: kind load image-archive %s)\n", path, path)
	return nil
}

// pushIndex uploads the image index and everything it references. Docker's
// keychain is used, so a registry that `docker push` can reach (gcrcred's
// own credential helper included) works the same here.
func pushIndex(ctx context.Context, idx v1.ImageIndex, ref name.Tag) (v1.Hash, error) {
	if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return v1.Hash{}, fmt.Errorf("pushing to %s: %w (check `docker login` or gcrcred configure-docker for that registry)", ref, err)
	}
	return idx.Digest()
}

// Package ociimage makes the one kind of container image gcrcred needs: a
// single static program as the only file, owned by root, mode 0755, with
// fixed times, so the same program always gives the same digest. `make
// image` builds the DaemonSet's image with it, and the e2e cluster its pause
// and test images.
package ociimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Program describes the image: the program's bytes, where it sits (also the
// entrypoint), the platform, the time every timestamp gets, and the rest of
// the config (Entrypoint is set from Path).
type Program struct {
	Data      []byte
	Path      string // "/gcrcred"
	Platform  v1.Platform
	Created   time.Time
	Config    v1.Config
	CreatedBy string // the history line
}

// Image builds the OCI image of p.
func Image(p Program) (v1.Image, error) {
	layerTar, err := programTar(p.Data, p.Path, p.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(
		func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar)), nil },
		tarball.WithMediaType(types.OCILayer),
		tarball.WithCompressionLevel(gzip.BestCompression),
	)
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: p.Created}, CreatedBy: p.CreatedBy},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.Platform.OS, p.Platform.Architecture, p.Platform.Variant
	cf.Created = v1.Time{Time: p.Created}
	cf.Config = p.Config
	cf.Config.Entrypoint = []string{p.Path}
	return mutate.ConfigFile(img, cf)
}

// programTar is the layer: the one file, and nothing that varies between
// builds (no user names, no access times, no directory entries).
func programTar(data []byte, path string, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     strings.TrimPrefix(path, "/"),
		Mode:     0o755,
		Size:     int64(len(data)),
		ModTime:  mtime,
		Format:   tar.FormatUSTAR,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

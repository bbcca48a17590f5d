package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotation keys on index.json's entry that name the image.
const (
	// containerd's importer (`ctr images import`, `kind load
	// image-archive`) names the image with this, as given.
	annotationContainerdName = "io.containerd.image.name"
	// The OCI layout's own name, a tag only (as buildx writes it): what
	// skopeo's oci-archive:FILE:TAG and podman load look up. ctr uses it
	// only when the containerd name is absent, then prefixed with
	// "import-DATE", which the kubelet would never ask for.
	annotationRefName = "org.opencontainers.image.ref.name"
)

// writeLayoutFile writes the OCI layout tarball atomically: a half-written
// file never sits where `ctr images import` would read it.
func writeLayoutFile(path string, idx v1.ImageIndex, ref imageRef, mtime time.Time) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating the directory for %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, there is nothing left to remove
	if err := writeLayout(tmp, idx, ref, mtime); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// writeLayout writes the OCI image layout (oci-layout, index.json, blobs/)
// as a tar stream. Entries come in a fixed order with fixed metadata, so
// the tarball's bytes, not only the digests inside, repeat.
func writeLayout(w io.Writer, idx v1.ImageIndex, ref imageRef, mtime time.Time) error {
	blobs, err := collectBlobs(idx)
	if err != nil {
		return err
	}
	rawIndex, err := idx.RawManifest()
	if err != nil {
		return err
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	top := v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests: []v1.Descriptor{{
			MediaType: types.OCIImageIndex,
			Size:      int64(len(rawIndex)),
			Digest:    digest,
			Annotations: map[string]string{
				annotationContainerdName: ref.full,
				annotationRefName:        ref.tag,
			},
		}},
	}
	indexJSON, err := json.Marshal(top)
	if err != nil {
		return err
	}

	tw := tar.NewWriter(w)
	file := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: mtime, Format: tar.FormatUSTAR}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	dir := func(name string) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: mtime, Format: tar.FormatUSTAR})
	}
	// oci-layout first: streaming readers learn the format before the blobs.
	if err := file("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	if err := file("index.json", indexJSON); err != nil {
		return err
	}
	if err := dir("blobs/"); err != nil {
		return err
	}
	if err := dir("blobs/sha256/"); err != nil {
		return err
	}
	keys := make([]string, 0, len(blobs))
	for k := range blobs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h, _ := v1.NewHash(k)
		if err := file("blobs/"+h.Algorithm+"/"+h.Hex, blobs[k]); err != nil {
			return err
		}
	}
	return tw.Close()
}

// collectBlobs gathers every blob the index references, itself included,
// keyed by digest. The image is a few megabytes, so holding it in memory
// keeps the writing simple.
func collectBlobs(idx v1.ImageIndex) (map[string][]byte, error) {
	blobs := map[string][]byte{}
	add := func(h v1.Hash, data []byte, what string) error {
		if got, _, err := v1.SHA256(bytes.NewReader(data)); err != nil || got != h {
			return fmt.Errorf("%s: content does not match its digest %s", what, h)
		}
		blobs[h.String()] = data
		return nil
	}
	raw, err := idx.RawManifest()
	if err != nil {
		return nil, err
	}
	digest, err := idx.Digest()
	if err != nil {
		return nil, err
	}
	if err := add(digest, raw, "image index"); err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, desc := range im.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", desc.Platform, err)
		}
		raw, err := img.RawManifest()
		if err != nil {
			return nil, err
		}
		if err := add(desc.Digest, raw, "manifest for "+desc.Platform.String()); err != nil {
			return nil, err
		}
		cfg, err := img.RawConfigFile()
		if err != nil {
			return nil, err
		}
		cfgName, err := img.ConfigName()
		if err != nil {
			return nil, err
		}
		if err := add(cfgName, cfg, "config for "+desc.Platform.String()); err != nil {
			return nil, err
		}
		layers, err := img.Layers()
		if err != nil {
			return nil, err
		}
		for _, l := range layers {
			h, err := l.Digest()
			if err != nil {
				return nil, err
			}
			rc, err := l.Compressed()
			if err != nil {
				return nil, err
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return nil, err
			}
			if err := add(h, data, "layer for "+desc.Platform.String()); err != nil {
				return nil, err
			}
		}
	}
	return blobs, nil
}

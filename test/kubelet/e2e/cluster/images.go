package cluster

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/gcrcred/gcrcred/internal/ociimage"
)

// Nothing can be pulled from the internet: every image the node runs is
// one static program made into an image here and imported into containerd.
const (
	// PauseImage is containerd's sandbox image, the one kubeadm 1.37 names
	// (built from cmd/pause).
	PauseImage = "registry.k8s.io/pause:3.10.2"
	// localAppImage is cmd/app as an image on the node only (imagePullPolicy: Never).
	localAppImage = "e2e.local/app:v1"
	// controlPlaneImages is the tarball of the static pods' images, in Binaries.K8s.
	controlPlaneImages = "control-plane-images.tar"
)

// imageSpec is an image of one program: the file, and where it sits in the
// image (its entrypoint; PATH covers /usr/local/bin).
type imageSpec struct{ binary, path string }

func programImage(s imageSpec) (v1.Image, error) {
	prog, err := os.ReadFile(s.binary)
	if err != nil {
		return nil, err
	}
	return ociimage.Image(ociimage.Program{
		Data:     prog,
		Path:     s.path,
		Platform: v1.Platform{OS: "linux", Architecture: runtime.GOARCH},
		Created:  time.Unix(0, 0),
		Config:   v1.Config{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
	})
}

// writeImageTarball writes images (by reference) as one `docker save`
// tarball, which `ctr images import` reads.
func writeImageTarball(path string, images map[string]imageSpec) error {
	refs := map[name.Reference]v1.Image{}
	for ref, s := range images {
		tag, err := name.NewTag(ref)
		if err != nil {
			return err
		}
		if refs[tag], err = programImage(s); err != nil {
			return fmt.Errorf("image %s: %w", ref, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := tarball.MultiRefWriteToFile(path, refs); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// ImportImageArchive imports an OCI layout or Docker tarball into
// containerd's k8s.io namespace, where the kubelet's images live, as
// `ctr -n k8s.io images import FILE` does on a node. It returns ctr's output.
func (c *Cluster) ImportImageArchive(ctx context.Context, path string) (string, error) {
	out, err := exec.CommandContext(ctx, "ctr", "--address", containerdSocket, "--namespace", "k8s.io",
		"images", "import", path).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ctr -n k8s.io images import %s: %v: %s", path, err, out)
	}
	return string(out), nil
}

// ImageArchiveName is the image name an OCI layout tarball gives itself
// for containerd (index.json's io.containerd.image.name annotation, which
// `make image` writes), e.g. docker.io/library/gcrcred:v1.2.3.
func ImageArchiveName(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return "", fmt.Errorf("%s: no index.json: not an OCI layout tarball", path)
		}
		if err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		if strings.TrimPrefix(h.Name, "./") != "index.json" {
			continue
		}
		var idx struct {
			Manifests []struct {
				Annotations map[string]string `json:"annotations"`
			} `json:"manifests"`
		}
		if err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(&idx); err != nil {
			return "", fmt.Errorf("%s: index.json: %w", path, err)
		}
		for _, m := range idx.Manifests {
			if n := m.Annotations["io.containerd.image.name"]; n != "" {
				return n, nil
			}
		}
		return "", fmt.Errorf("%s: index.json names no image (io.containerd.image.name)", path)
	}
}

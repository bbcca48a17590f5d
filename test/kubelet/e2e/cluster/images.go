package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/gcrcred/gcrcred/internal/ociimage"
)

// PauseImage is the sandbox image of containerd's CRI plugin. Nothing can be
// pulled from the internet here, so it is built from cmd/pause and imported.
const PauseImage = "registry.k8s.io/pause:3.10"

// staticImage is an OCI image holding one static program as /NAME, its entrypoint.
func staticImage(binary, entry string) (v1.Image, error) {
	prog, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	return ociimage.Image(ociimage.Program{
		Data:     prog,
		Path:     "/" + entry,
		Platform: v1.Platform{OS: "linux", Architecture: runtime.GOARCH},
		Created:  time.Unix(0, 0),
	})
}

// importImage packages the program as image ref and imports it into
// containerd's k8s.io namespace, where the CRI plugin looks.
func (c *Cluster) importImage(ctx context.Context, binary, entry, ref string) error {
	img, err := staticImage(binary, entry)
	if err != nil {
		return fmt.Errorf("image %s: %w", ref, err)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	path := c.path("images", strings.NewReplacer("/", "_", ":", "_").Replace(ref)+".tar")
	if err := os.MkdirAll(c.path("images"), 0o755); err != nil {
		return err
	}
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		return fmt.Errorf("image %s: %w", ref, err)
	}
	out, err := exec.CommandContext(ctx, "ctr", "--address", containerdSocket, "--namespace", "k8s.io",
		"images", "import", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ctr images import %s: %v: %s", ref, err, out)
	}
	return nil
}

package cluster

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gcrcred/gcrcred/test/fakegcr"
	"github.com/gcrcred/gcrcred/test/fakegoogle"
)

const (
	// RegistryHost is the Google registry the node believes it pulls from.
	// containerd reaches it only through its hosts.toml, which sends every
	// request to the fake registry on loopback (and the node's network
	// namespace has no route anywhere else).
	RegistryHost = "gcr.io"
	// AppImage is the private test image, pushed to the fake registry.
	AppImage = RegistryHost + "/" + fakegoogle.ProjectID + "/e2e-app:v1"

	containerdCertsDir = "/etc/containerd/certs.d"
)

// startFakes starts the fake Google and the fake registry in this process
// (so in the node's network namespace, on 127.0.0.1) and pushes AppImage.
func (c *Cluster) startFakes(ctx context.Context) error {
	g, err := fakegoogle.New()
	if err != nil {
		return err
	}
	c.Google = g
	// Before anything reads g.URL: every credential file then points
	// through the tap, which remembers the secrets it carries.
	if c.tap, err = startSecretTap(g); err != nil {
		return err
	}
	r, err := fakegcr.New(g)
	if err != nil {
		return err
	}
	c.Registry = r
	// The pusher's key is a credential the fake registry accepts directly
	// (as "_json_key"), so pushing costs the fake Google no token.
	keyPath, _, err := g.WriteServiceAccountKey(c.path("fakes"), "pusher")
	if err != nil {
		return err
	}
	if c.pusherKey, err = os.ReadFile(keyPath); err != nil {
		return err
	}
	if err := c.PushAppImage(ctx, AppImage); err != nil {
		return err
	}
	return c.writeHostsTOML()
}

// PushAppImage pushes the app program (cmd/app) as image, a RegistryHost
// reference such as AppImage, to the fake registry. Push before
// Registry.Grant restricts the repository: the pusher is granted nothing.
func (c *Cluster) PushAppImage(ctx context.Context, image string) error {
	repoTag, ok := strings.CutPrefix(image, RegistryHost+"/")
	if !ok {
		return fmt.Errorf("image %s is not on %s", image, RegistryHost)
	}
	img, err := programImage(imageSpec{binary: c.cfg.Bin.Tools + "/app", path: "/app"})
	if err != nil {
		return err
	}
	ref, err := name.ParseReference(c.Registry.Host()+"/"+repoTag, name.Insecure)
	if err != nil {
		return err
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx),
		remote.WithAuth(&authn.Basic{Username: "_json_key", Password: string(c.pusherKey)})); err != nil {
		return fmt.Errorf("pushing %s: %w", ref, err)
	}
	return nil
}

// writeHostsTOML points containerd's registry host RegistryHost at the fake:
// both the server and the (only) mirror host are the fake, so containerd
// has no other address to try. The kubelet's credentials reach it: the
// kubelet leaves the CRI AuthConfig's ServerAddress empty, and containerd
// 1.6 then offers the credentials to whichever host it talks to.
func (c *Cluster) writeHostsTOML() error {
	url := "http://" + c.Registry.Host()
	hosts := fmt.Sprintf("server = %q\n\n[host.%q]\n  capabilities = [\"pull\", \"resolve\"]\n", url, url)
	return writeFile(containerdCertsDir+"/"+RegistryHost+"/hosts.toml", []byte(hosts), 0o644)
}

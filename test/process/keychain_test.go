package process_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gcrcred/gcrcred/test/fakegcr"
	"github.com/gcrcred/gcrcred/test/testbin"
)

// TestRealClientPullsThroughHelper: go-containerregistry's DefaultKeychain
// reads config.json credHelpers and executes docker-credential-gcrcred, as
// crane and friends do; the fake GCR checks the token with the fake Google.
func TestRealClientPullsThroughHelper(t *testing.T) {
	g := newGoogle(t)
	reg, err := fakegcr.New(g)
	must(t, err)
	t.Cleanup(reg.Close)
	wantDigest, err := reg.Push("proj/private", "v1")
	must(t, err)
	_, err = reg.Push("distroless/static", "latest")
	must(t, err)
	reg.SetPublic("distroless/")
	sa, _, err := g.WriteServiceAccountKey(t.TempDir(), "puller")
	must(t, err)

	// The keychain runs in this process and execs the helper from PATH with
	// this process's environment: that environment is built from nothing
	// for the test, and the test process's own is put back after it.
	env := testbin.Env(t, "GCRCRED_CREDENTIALS="+sa, "GCRCRED_REGISTRIES="+reg.Host())
	onlyEnv(t, env)
	dockerConfig := os.Getenv("DOCKER_CONFIG")
	must(t, os.MkdirAll(dockerConfig, 0o700))
	writeConfig := func(body string) {
		must(t, os.WriteFile(filepath.Join(dockerConfig, "config.json"), []byte(body), 0o600))
	}
	private, err := name.ParseReference(reg.Host()+"/proj/private:v1", name.Insecure)
	must(t, err)
	public, err := name.ParseReference(reg.Host()+"/distroless/static:latest", name.Insecure)
	must(t, err)
	pull := func(ref name.Reference) error {
		img, err := remote.Image(ref, remote.WithAuthFromKeychain(authn.DefaultKeychain))
		if err != nil {
			return err
		}
		layers, err := img.Layers()
		if err != nil {
			return err
		}
		for _, l := range layers { // fetch the blobs too, not just the manifest
			rc, err := l.Compressed()
			if err != nil {
				return err
			}
			rc.Close()
		}
		d, err := img.Digest()
		if err == nil && ref == private && d.String() != wantDigest {
			t.Fatalf("pulled %s, pushed %s", d, wantDigest)
		}
		return err
	}

	// Without the helper the private image is refused.
	writeConfig(`{"auths": {}}`)
	if err := pull(private); err == nil {
		t.Fatal("private image pulled without credentials: the fake registry is not checking")
	}
	// With it (set up by our own configure-docker), it pulls.
	if r := run(t, env, "", "gcrcred", "configure-docker", "--registries", reg.Host()); r.Code != 0 {
		t.Fatalf("configure-docker: %s", r.Stderr)
	}
	if err := pull(private); err != nil {
		t.Fatalf("pull through the helper: %v", err)
	}
	if reg.Count("token-ok") == 0 {
		t.Fatal("registry never accepted a token")
	}
	// With no Google credentials at all the helper says not-found, the
	// client goes anonymous: public images still pull, private ones do not.
	os.Unsetenv("GCRCRED_CREDENTIALS")
	if err := pull(public); err != nil {
		t.Fatalf("public pull with no credentials: %v", err)
	}
	if err := pull(private); err == nil {
		t.Fatal("private image pulled with no credentials")
	}
}

// onlyEnv makes env this process's whole environment for the test (which
// must not be parallel), and puts the old one back after it.
func onlyEnv(t *testing.T, env []string) {
	old := os.Environ()
	t.Cleanup(func() {
		os.Clearenv()
		for _, kv := range old {
			k, v, _ := strings.Cut(kv, "=")
			os.Setenv(k, v)
		}
	})
	os.Clearenv()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
}

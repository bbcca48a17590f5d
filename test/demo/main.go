// Command demo shows gcrcred's main job end to end with no Google account and
// no network: a fake Google and a fake GCR on 127.0.0.1, a service-account
// key, a throwaway Docker config, and a pull by a real registry client
// (go-containerregistry, which runs Docker credential helpers like docker
// does). Run with `make demo`.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gcrcred/gcrcred/test/fakegcr"
)

func main() {
	if err := demo(); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func step(n int, format string, args ...any) {
	fmt.Printf("\n%d. "+format+"\n", append([]any{n}, args...)...)
}

func demo() error {
	bin, err := filepath.Abs("bin")
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(bin, "docker-credential-gcrcred")); err != nil {
		return fmt.Errorf("bin/docker-credential-gcrcred missing: run `make build` first")
	}
	work, err := os.MkdirTemp("", "gcrcred-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	step(1, "Start a fake Google (token endpoint, STS, IAM, metadata) and a fake gcr.io registry on loopback")
	g, reg, stop, err := fakegcr.Start()
	if err != nil {
		return err
	}
	defer stop()
	digest, err := reg.Push("my-project/app", "v1")
	if err != nil {
		return err
	}
	image := reg.Host() + "/my-project/app:v1"
	fmt.Printf("   Google:   %s\n   registry: %s (private image %s)\n", g.URL, reg.Host(), image)

	step(2, "Write a service-account key (its token_uri points at the fake Google)")
	key, email, err := g.WriteServiceAccountKey(work, "ci-puller")
	if err != nil {
		return err
	}
	fmt.Printf("   %s for %s\n", key, email)

	// Everything below runs as a user would: the binary from bin/, a Docker
	// config of its own, nothing from the caller's environment that matters.
	for k, v := range map[string]string{
		"PATH":                bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME":                work,
		"DOCKER_CONFIG":       filepath.Join(work, "docker"),
		"GCRCRED_CREDENTIALS": key,
		"GCRCRED_REGISTRIES":  reg.Host(), // the fake registry's host is served like gcr.io
		"GCRCRED_CACHE_DIR":   filepath.Join(work, "cache"),
		"GCE_METADATA_HOST":   "127.0.0.1:9", // never probe the real metadata address
		// The test switch: the fake Google is on 127.0.0.1.
		"GCRCRED_TEST_LOOPBACK_ENDPOINTS": "1",
	} {
		os.Setenv(k, v)
	}
	os.Unsetenv("GOOGLE_APPLICATION_CREDENTIALS")
	os.Unsetenv("CLOUDSDK_CONFIG")

	ref, err := name.ParseReference(image, name.Insecure)
	if err != nil {
		return err
	}
	pull := func() (string, error) {
		img, err := remote.Image(ref, remote.WithAuthFromKeychain(authn.DefaultKeychain))
		if err != nil {
			return "", err
		}
		d, err := img.Digest()
		return d.String(), err
	}

	step(3, "Pull without gcrcred: the registry refuses, as gcr.io does")
	if _, err := pull(); err == nil {
		return fmt.Errorf("the private image pulled without credentials")
	} else {
		fmt.Printf("   refused: %s\n", firstLine(err.Error()))
	}

	step(4, "gcrcred configure-docker (adds credHelpers to $DOCKER_CONFIG/config.json)")
	if err := show("gcrcred", "configure-docker", "--registries", reg.Host()); err != nil {
		return err
	}
	b, _ := os.ReadFile(filepath.Join(work, "docker", "config.json"))
	fmt.Printf("   config.json: %s\n", strings.Join(strings.Fields(string(b)), " "))

	step(5, "Pull again with a real registry client: it runs docker-credential-gcrcred")
	got, err := pull()
	if err != nil {
		return fmt.Errorf("pull through gcrcred: %w", err)
	}
	fmt.Printf("   pulled %s (pushed %s, match: %v)\n", got, digest, got == digest)
	fmt.Printf("   token requests to Google so far: %d\n", g.Count("token"))

	step(6, "Pull three more times: the token comes from the disk cache")
	for i := 0; i < 3; i++ {
		if _, err := pull(); err != nil {
			return err
		}
	}
	fmt.Printf("   token requests to Google: still %d\n", g.Count("token"))

	step(7, "gcrcred doctor REGISTRY: the credentials, the token, and that Docker sends this host to gcrcred")
	if err := show("gcrcred", "doctor", reg.Host()); err != nil {
		return err
	}

	fmt.Print(`
Done: a private image pulled through gcrcred, one token minted for four pulls.
Next, for real (your Google credentials, your registry):
  make install && gcrcred configure-docker && gcrcred doctor gcr.io
  docker pull gcr.io/YOUR-PROJECT/YOUR-IMAGE
For a cluster: make minikube-install, or see "Where to go from here" in README.md.
`)
	return nil
}

func show(cmd string, args ...string) error {
	fmt.Printf("   $ %s %s\n", cmd, strings.Join(args, " "))
	c := exec.Command(cmd, args...)
	out, err := c.CombinedOutput()
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		fmt.Printf("   %s\n", l)
	}
	return err
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

package kubelet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/test/testbin"
)

// registryImages are images on every kind of registry gcrcred serves, two on
// one registry; each registry must cost one plugin run, whatever the image.
var registryImages = []string{
	"gcr.io/proj/img",
	"gcr.io/proj/other:v2",
	"eu.gcr.io/proj/img",
	"us-docker.pkg.dev/proj/repo/img",
	"docker.us-central1.rep.pkg.dev/proj/repo/img@sha256:0000000000000000000000000000000000000000000000000000000000000000",
}

const registriesInImages = 4

const publicImage = "docker.io/library/nginx"

// TestKubeletGetsCredentialsFromPlugin: for each exec API version, the
// kubelet's plugin code accepts the generated config, runs gcrcred with an
// empty environment, decodes its reply strictly, finds credentials the fake
// Google accepts for every served registry, caches them per registry (one
// run per registry over three rounds), and finds none for docker.io.
func TestKubeletGetsCredentialsFromPlugin(t *testing.T) {
	for _, version := range []string{"v1", "v1beta1", "v1alpha1"} {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			g := newGoogle(t)
			key, email, err := g.WriteServiceAccountKey(t.TempDir(), "node-puller")
			if err != nil {
				t.Fatal(err)
			}
			config := kubeletConfig(t, "--api-version", version, "--credentials", key, "--cache-dir", filepath.Join(t.TempDir(), "cache"))
			binDir, execs := pluginBinDir(t)

			r := lookup(t, config, binDir, append(imageArgs(append(registryImages, publicImage)...), "-n", "3")...)
			if r.code != 0 {
				t.Fatalf("kubelet-lookup exit %d:\n%s", r.code, r.stderr)
			}
			for _, res := range r.out.Results {
				if res.Image == publicImage {
					if res.Found {
						t.Fatalf("%s got credentials from gcrcred (user %q)", res.Image, res.Username)
					}
					continue
				}
				if !res.Found || res.Username != "oauth2accesstoken" {
					t.Fatalf("%s: found=%v user %q; kubelet log:\n%s", res.Image, res.Found, res.Username, firstLines(r.stderr, 20))
				}
				if !g.Valid(res.Password) || g.TokenSubject(res.Password) != email {
					t.Fatalf("%s: password is not a valid token for %s (valid=%v, subject %q)", res.Image, email, g.Valid(res.Password), g.TokenSubject(res.Password))
				}
			}
			if n := execs(); n != registriesInImages || r.out.Execs != n {
				t.Fatalf("plugin ran %d times (kubelet-lookup counted %d) for %d lookups; want once per registry, %d",
					n, r.out.Execs, r.out.Lookups, registriesInImages)
			}
			if n := g.Count("token"); n != 1 {
				t.Fatalf("%d token requests: the plugin's disk cache should make it 1", n)
			}
		})
	}
}

// TestKubeletHonoursCacheDuration: with tokens that live 5 min + 1 s, the
// reply's cacheDuration is 1 s at most (not the config's 55 min default), so
// a lookup 1.5 s later runs the plugin again and gets a new, valid token.
func TestKubeletHonoursCacheDuration(t *testing.T) {
	t.Parallel()
	g := newGoogle(t)
	g.SetTokenLifetime(5*time.Minute + time.Second)
	key, _, err := g.WriteServiceAccountKey(t.TempDir(), "short-lived")
	if err != nil {
		t.Fatal(err)
	}
	config := kubeletConfig(t, "--credentials", key, "--cache-dir", filepath.Join(t.TempDir(), "cache"))
	binDir, execs := pluginBinDir(t)
	r := lookup(t, config, binDir, "-image", "gcr.io/p/i", "-n", "2", "-interval", "1500ms")
	if r.code != 0 || !r.out.Found || !g.Valid(r.out.Password) {
		t.Fatalf("exit %d, found %v, valid %v:\n%s", r.code, r.out.Found, g.Valid(r.out.Password), firstLines(r.stderr, 20))
	}
	if n := execs(); n != 2 || g.Count("token") != 2 {
		t.Fatalf("%d plugin runs, %d token requests; want 2 and 2", n, g.Count("token"))
	}
}

// TestKubeletFallsBackWhenPluginFails: with no credentials anywhere the
// plugin fails; the kubelet logs gcrcred's stderr line, uses no credentials
// (so a public image still pulls anonymously) and does not cache the failure.
func TestKubeletFallsBackWhenPluginFails(t *testing.T) {
	t.Parallel()
	_, err := os.Stat("/etc/gcrcred/credentials.json")
	testbin.Need(t, err != nil, "this machine has /etc/gcrcred/credentials.json, which the plugin would use: run the test where there is none")
	config := kubeletConfig(t, "--cache-dir", filepath.Join(t.TempDir(), "cache"))
	binDir, execs := pluginBinDir(t)
	r := lookup(t, config, binDir, "-image", "gcr.io/public-project/img", "-n", "2")
	if r.code != 0 || r.out.Found {
		t.Fatalf("exit %d, found %v:\n%s", r.code, r.out.Found, r.stderr)
	}
	if !strings.Contains(r.stderr, "gcrcred get-credentials: no credentials for gcr.io") {
		t.Fatalf("the kubelet's log does not show gcrcred's reason:\n%s", r.stderr)
	}
	if n := execs(); n != 2 {
		t.Fatalf("plugin ran %d times for 2 lookups; a failure must not be cached", n)
	}
}

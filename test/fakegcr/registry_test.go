package fakegcr

import (
	"context"
	"os"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/oauth2/google"

	"github.com/gcrcred/gcrcred/test/fakegoogle"
)

func TestRegistryAuth(t *testing.T) {
	g, r, stop, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	privDigest, err := r.Push("proj/img", "tag")
	if err != nil {
		t.Fatal(err)
	}
	r.SetPublic("distroless")
	pubDigest, err := r.Push("distroless/static", "latest")
	if err != nil {
		t.Fatal(err)
	}

	keyPath, _, err := g.WriteServiceAccountKey(t.TempDir(), "puller")
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := google.CredentialsFromJSONWithType(context.Background(), key, google.ServiceAccount, fakegoogle.CloudPlatformScope)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := creds.TokenSource.Token()
	if err != nil {
		t.Fatal(err)
	}

	pull := func(repo string, auth authn.Authenticator) (string, error) {
		t.Helper()
		ref, err := name.ParseReference(r.Host()+"/"+repo, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		img, err := remote.Image(ref, remote.WithAuth(auth))
		if err != nil {
			return "", err
		}
		d, err := img.Digest()
		return d.String(), err
	}
	oauth := func(tok string) authn.Authenticator {
		return authn.FromConfig(authn.AuthConfig{Username: "oauth2accesstoken", Password: tok})
	}

	if d, err := pull("proj/img:tag", oauth(tok.AccessToken)); err != nil || d != privDigest {
		t.Errorf("oauth2accesstoken pull: %q %v, want %q", d, err, privDigest)
	}
	if r.Count("token-ok") != 1 {
		t.Errorf("token-ok = %d", r.Count("token-ok"))
	}
	if _, err := pull("proj/img:tag", authn.Anonymous); err == nil {
		t.Error("anonymous pull of a private repository succeeded")
	} else {
		t.Log(err)
	}
	if d, err := pull("distroless/static:latest", authn.Anonymous); err != nil || d != pubDigest {
		t.Errorf("anonymous pull of a public repository: %q %v", d, err)
	}
	if r.Count("anonymous") < 2 {
		t.Errorf("anonymous = %d", r.Count("anonymous"))
	}
	if _, err := pull("proj/img:tag", oauth("ya29.fake-wrong")); err == nil {
		t.Error("pull with a wrong token succeeded")
	} else {
		t.Log(err)
	}
	if r.Count("token-denied") != 1 {
		t.Errorf("token-denied = %d", r.Count("token-denied"))
	}
	jsonKey := authn.FromConfig(authn.AuthConfig{Username: "_json_key", Password: string(key)})
	if d, err := pull("proj/img:tag", jsonKey); err != nil || d != privDigest {
		t.Errorf("_json_key pull: %q %v", d, err)
	}
	if r.Count("token-ok") != 2 {
		t.Errorf("token-ok = %d", r.Count("token-ok"))
	}
}

func TestRepository(t *testing.T) {
	for path, want := range map[string]string{
		"/v2/":                                "",
		"/v2/_catalog":                        "",
		"/v2/proj/img/manifests/latest":       "proj/img",
		"/v2/a/b/c/blobs/sha256:00":           "a/b/c",
		"/v2/proj/img/blobs/uploads/123":      "proj/img",
		"/v2/proj/img/tags/list":              "proj/img",
		"/v2/manifests/blobs/sha256:00":       "manifests",
		"/v2/proj/blobs/img/manifests/latest": "proj/blobs/img",
	} {
		if got := repository(path); got != want {
			t.Errorf("repository(%q) = %q, want %q", path, got, want)
		}
	}
}

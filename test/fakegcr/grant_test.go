package fakegcr

import (
	"context"
	"errors"
	"net/http"
	"os"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/oauth2/google"

	"github.com/gcrcred/gcrcred/test/fakegoogle"
)

// TestGrantLimitsRepositoriesToNamedIdentities: a granted repository is
// readable by its readers only (403 for other valid credentials, whatever
// the login method); other repositories stay open to any valid credentials.
func TestGrantLimitsRepositoriesToNamedIdentities(t *testing.T) {
	g, r, stop, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for _, repo := range []string{"proj/team-a/app", "proj/team-b/app", "proj/shared"} {
		if _, err := r.Push(repo, "v1"); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	keyA, emailA, _ := g.WriteServiceAccountKey(dir, "team-a")
	keyB, emailB, _ := g.WriteServiceAccountKey(dir, "team-b")
	r.Grant("proj/team-a", emailA)
	r.Grant("proj/team-b/", emailB, fakegoogle.KubernetesPrincipal("k8s", "b", "puller"))

	token := func(path string) authn.Authenticator {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		creds, err := google.CredentialsFromJSONWithType(context.Background(), b, google.ServiceAccount, fakegoogle.CloudPlatformScope)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := creds.TokenSource.Token()
		if err != nil {
			t.Fatal(err)
		}
		return authn.FromConfig(authn.AuthConfig{Username: "oauth2accesstoken", Password: tok.AccessToken})
	}
	jsonKey := func(path string) authn.Authenticator {
		b, _ := os.ReadFile(path)
		return authn.FromConfig(authn.AuthConfig{Username: "_json_key", Password: string(b)})
	}
	pull := func(repo string, auth authn.Authenticator) error {
		ref, err := name.ParseReference(r.Host()+"/"+repo+":v1", name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		_, err = remote.Image(ref, remote.WithAuth(auth))
		return err
	}
	forbidden := func(err error) bool {
		var te *transport.Error
		return errors.As(err, &te) && te.StatusCode == http.StatusForbidden
	}
	a, b := token(keyA), token(keyB)
	for _, c := range []struct {
		repo string
		auth authn.Authenticator
		ok   bool
	}{
		{"proj/team-a/app", a, true},
		{"proj/team-a/app", jsonKey(keyA), true},
		{"proj/team-b/app", b, true},
		{"proj/team-a/app", b, false},
		{"proj/team-a/app", jsonKey(keyB), false},
		{"proj/team-b/app", a, false},
		{"proj/shared", a, true},
		{"proj/shared", b, true},
	} {
		err := pull(c.repo, c.auth)
		if c.ok && err != nil || !c.ok && !forbidden(err) {
			t.Errorf("%s: err %v, want ok=%v (403 otherwise)", c.repo, err, c.ok)
		}
	}
	if n := r.Count("forbidden"); n != 3 {
		t.Errorf("forbidden = %d, want 3", n)
	}
}

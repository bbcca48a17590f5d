package helper

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/gcrcred/gcrcred/internal/logins"
	"github.com/gcrcred/gcrcred/internal/registries"
)

// FuzzStore decodes `store` requests (what `docker login` writes) through
// the real protocol handler: any input gives an answer or an error, never a
// panic; a key is kept only for a host gcrcred serves and only when the
// request is a _json_key login. The seed corpus runs in every `go test`.
func FuzzStore(f *testing.F) {
	for _, s := range []string{
		`{"ServerURL":"gcr.io","Username":"_json_key","Secret":"{}"}`,
		`{"ServerURL":"https://evil.com@gcr.io","Username":"_json_key","Secret":"{}"}`,
		`{"ServerURL":"gcr.io","Username":"oauth2accesstoken","Secret":"ya29.x"}`,
		`{"ServerURL":"","Username":"x"}`, `{`, `[]`, `null`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		dir := t.TempDir()
		h := &Helper{Registries: registries.With(nil), Logins: logins.Store{Dir: dir}, Stderr: &bytes.Buffer{}}
		var out bytes.Buffer
		err := credentials.HandleCommand(h, "store", bytes.NewReader(input), &out)
		hosts, _ := h.Logins.Hosts()
		if err != nil && len(hosts) > 0 {
			t.Fatalf("store failed (%v) but kept %v", err, hosts)
		}
		var c credentials.Credentials
		if len(hosts) > 0 {
			if json.Unmarshal(input, &c) != nil || c.Username != "_json_key" || !h.Registries.Serves(c.ServerURL) {
				t.Fatalf("kept %v for %q", hosts, input)
			}
		}
	})
}

// FuzzGetHost: `get` never answers a server URL that is not a served host,
// and never panics, whatever Docker (or anyone) writes to stdin.
func FuzzGetHost(f *testing.F) {
	for _, s := range []string{"gcr.io", "https://evil.com@gcr.io", "docker.io", "", "\x00", "https://gcr.io\\@x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, url string) {
		h := &Helper{Registries: registries.With(nil), Stderr: &bytes.Buffer{}}
		if registries.Host(url) != "" && h.Registries.Serves(url) {
			return // a served host: minting is exercised by the process tests
		}
		var out bytes.Buffer
		err := credentials.HandleCommand(h, "get", strings.NewReader(url), &out)
		if err == nil {
			t.Fatalf("get %q answered %s", url, out.String())
		}
	})
}

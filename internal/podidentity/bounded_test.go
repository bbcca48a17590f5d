package podidentity

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/internal/endpoint"
	"github.com/gcrcred/gcrcred/test/fakegoogle"
)

// TestBogusAnnotationsLeaveABoundedCache: whoever may annotate service
// accounts makes the plugin mint for names of their choosing. 40 bogus
// annotations (20 that are no Google service account's, refused before any
// file exists; 20 of the right form that Google does not know) leave no
// file in the node's cache; a good one leaves its entry and lock.
func TestBogusAnnotationsLeaveABoundedCache(t *testing.T) {
	w := newWorld(t)
	cache := t.TempDir()
	claims := fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller", UID: fakegoogle.NewUID()}
	for i := 0; i < 40; i++ {
		annotation := fmt.Sprintf("ghost-%d@fake-project.iam.gserviceaccount.com", i)
		switch i % 4 {
		case 0:
			annotation = fmt.Sprintf("someone-%d@example.com", i)
		case 1:
			annotation = fmt.Sprintf("x%d@fake-project.iam.gserviceaccount.com.evil.example", i)
		}
		if _, err := Token(context.Background(), w.request(t, claims, annotation, cache)); err == nil {
			t.Fatalf("annotation %s got a token", annotation)
		}
	}
	if names := dirNames(t, cache); len(names) != 0 {
		t.Fatalf("40 bogus annotations left %d files in the cache: %v", len(names), names)
	}
	if n := w.g.Count("sts"); n != 20 {
		t.Errorf("%d STS exchanges for 20 annotations of the right form (the other 20 must be refused before any request)", n)
	}
	good := w.g.AddServiceAccount("team-a")
	w.g.GrantWorkloadIdentityUser(good, fakegoogle.KubernetesPrincipal("k8s", "a", "puller"))
	if _, err := Token(context.Background(), w.request(t, claims, good, cache)); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, cache); len(names) != 2 {
		t.Fatalf("one good service account left %v, want its entry and lock", names)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestCheckAnnotatedServiceAccount(t *testing.T) {
	for _, ok := range []string{"puller@my-project.iam.gserviceaccount.com", "a@proj.example.com.iam.gserviceaccount.com"} {
		if err := CheckAnnotatedServiceAccount(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a@example.com", "a@iam.gserviceaccount.com", "a@p.iam.gserviceaccount.com.evil", "a@p.iam.gserviceaccount.com/x", "../a@p.iam.gserviceaccount.com"} {
		if err := CheckAnnotatedServiceAccount(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A FIFO where the configuration is expected fails at once, clearly.
func TestReadConfigFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wi.json")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := ReadConfig(path)
	if err == nil || !strings.Contains(err.Error(), "named pipe") || time.Since(start) > time.Second {
		t.Fatalf("FIFO: %v after %s", err, time.Since(start))
	}
}

// Without the test switch the fake's loopback endpoints break the rule,
// and the error names the file, the field, the host and the rule.
func TestLoopbackNeedsTheTestSwitch(t *testing.T) {
	g := testGoogle(t)
	path, err := g.WriteWorkloadIdentityConfig(t.TempDir(), "wi", "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k", "")
	if err != nil {
		t.Fatal(err)
	}
	endpoint.SetTestLoopback(false)
	defer endpoint.SetTestLoopback(true)
	_, err = ReadConfig(path)
	host := strings.TrimPrefix(g.URL, "http://")
	for _, want := range []string{path, "token_url", "host " + host, "Google endpoint rule", "sts.googleapis.com", endpoint.EnvTestLoopback} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("without the switch: %v; want it to say %q", err, want)
		}
	}
}

// A file naming any universe but googleapis.com is refused, whatever its
// endpoints say: with no token_url, x/oauth2 would send every pod's
// service-account token to sts.UNIVERSE.
func TestUniverseDomain(t *testing.T) {
	cfg := func(universe, tokenURL string) []byte {
		s := `{"type":"external_account","universe_domain":"` + universe + `","audience":"//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k"`
		if tokenURL != "" {
			s += `,"token_url":"` + tokenURL + `"`
		}
		return []byte(s + "}")
	}
	c, err := ParseConfig(cfg("googleapis.com", ""), "u.json")
	if err != nil || c.TokenURL != "https://sts.googleapis.com/v1/token" {
		t.Fatalf("the default universe: %v", err)
	}
	for _, bad := range []struct{ universe, tokenURL string }{
		{"evil.example", ""},
		{"evil.example", "https://sts.googleapis.com/v1/token"},
		{"example-universe.goog", "https://sts.example-universe.goog/v1/token"},
	} {
		_, err := ParseConfig(cfg(bad.universe, bad.tokenURL), "u.json")
		if err == nil || err.Error() != "workload identity configuration u.json: universe_domain \""+bad.universe+"\" is refused: gcrcred sends credentials only to Google's default universe googleapis.com" {
			t.Errorf("universe %s: %v", bad.universe, err)
		}
	}
}

func testGoogle(t *testing.T) *fakegoogle.Google {
	g, err := fakegoogle.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

package cluster

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/test/fakegoogle"
)

func TestSnapshotDiff(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a", "flags")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("KUBELET_EXTRA_ARGS=\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	absent := filepath.Join(dir, "gcrcred")
	before, err := SnapshotPaths(filepath.Join(dir, "a"), absent)
	if err != nil {
		t.Fatal(err)
	}
	if before[absent] != "absent" || before.Files() != 2 {
		t.Fatalf("snapshot %v: want %s absent and 2 entries", before, absent)
	}
	same, _ := SnapshotPaths(filepath.Join(dir, "a"), absent)
	if d := before.Diff(same); d != "" || before.Digest() != same.Digest() {
		t.Fatalf("unchanged tree: diff %q, digests %s %s", d, before.Digest(), same.Digest())
	}

	os.WriteFile(file, []byte("KUBELET_EXTRA_ARGS=--x\n"), 0o644)
	os.Mkdir(absent, 0o700)
	after, _ := SnapshotPaths(filepath.Join(dir, "a"), absent)
	d := before.Diff(after)
	for _, want := range []string{"changed  " + file, "changed  " + absent + ": absent -> drwx------"} {
		if !strings.Contains(d, want) {
			t.Errorf("diff lacks %q:\n%s", want, d)
		}
	}
	// The same content back, but another mode: still a difference.
	os.WriteFile(file, []byte("KUBELET_EXTRA_ARGS=\n"), 0o644)
	os.Chmod(file, 0o600)
	os.Remove(absent)
	if d := before.Diff(mustSnapshot(t, filepath.Join(dir, "a"), absent)); !strings.Contains(d, "changed  "+file+": -rw-r--r--") || strings.Contains(d, absent) {
		t.Errorf("want only the mode change of %s:\n%s", file, d)
	}
}

func mustSnapshot(t *testing.T, paths ...string) Snapshot {
	t.Helper()
	s, err := SnapshotPaths(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The tap remembers what crosses it, and the fake behind it still answers.
func TestSecretTap(t *testing.T) {
	g, err := fakegoogle.New()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	direct := g.URL
	tap, err := startSecretTap(g)
	if err != nil {
		t.Fatal(err)
	}
	defer tap.close()
	if g.URL == direct {
		t.Fatal("the fake's URL is not the tap's")
	}
	c := &Cluster{Google: g, tap: tap}
	subject := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl"
	resp, err := http.PostForm(g.URL+"/v1/token", url.Values{
		"grant_type":           {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"requested_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"subject_token_type":   {"urn:ietf:params:oauth:token-type:jwt"},
		"subject_token":        {subject},
		"audience":             {fakegoogle.ProviderName("k8s", "cluster")},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest { // no such provider: the fake answered
		t.Errorf("STS through the tap: %s; want 400 from the fake", resp.Status)
	}
	if kind := c.GoogleSecrets()[subject]; kind != "request subject_token" {
		t.Errorf("the tap recorded the subject token as %q", kind)
	}
	if g.Count("sts") != 1 {
		t.Errorf("the fake counted %d STS requests; want 1", g.Count("sts"))
	}
}

package tokencache

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// countingSource mints numbered tokens and counts calls.
type countingSource struct {
	calls    atomic.Int64
	lifetime time.Duration
	fail     atomic.Bool
}

func (c *countingSource) Token() (*oauth2.Token, error) {
	n := c.calls.Add(1)
	if c.fail.Load() {
		return nil, errors.New("endpoint down")
	}
	return &oauth2.Token{AccessToken: "tok-" + string(rune('a'+n%26)), Expiry: time.Now().Add(c.lifetime)}, nil
}

func TestReuseAcrossSourcesSharingADir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	src := &countingSource{lifetime: time.Hour}
	first, err := New(dir, "k", src).Token()
	if err != nil {
		t.Fatal(err)
	}
	// A second wrapper (a second process, in effect) gets the same token.
	second, err := New(dir, "k", src).Token()
	if err != nil || second.AccessToken != first.AccessToken || src.calls.Load() != 1 {
		t.Fatalf("second = %v, %v; calls %d", second, err, src.calls.Load())
	}
	// Another key never sees it.
	other, _ := New(dir, "k2", src).Token()
	if other.AccessToken == first.AccessToken {
		t.Fatal("a different key got the same token")
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(Path(dir, "k")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v", fi.Mode().Perm())
	}
}

func TestExpiringTokenIsReminted(t *testing.T) {
	dir := t.TempDir()
	src := &countingSource{lifetime: Margin - time.Second} // born inside the margin
	New(dir, "k", src).Token()
	New(dir, "k", src).Token()
	if src.calls.Load() != 2 {
		t.Fatalf("calls = %d: a token with less than Margin left was reused", src.calls.Load())
	}
	// ...but if minting fails it is still served while it lives.
	src.fail.Store(true)
	tok, err := New(dir, "k", src).Token()
	if err != nil || tok == nil {
		t.Fatalf("stale-but-valid token not served: %v", err)
	}
}

func TestConcurrentColdStartMintsOnce(t *testing.T) {
	dir := t.TempDir()
	src := &countingSource{lifetime: time.Hour}
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); New(dir, "k", src).Token() }()
	}
	wg.Wait()
	if src.calls.Load() != 1 {
		t.Fatalf("calls = %d, want 1", src.calls.Load())
	}
}

func TestUnusableDirStillMints(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	os.WriteFile(file, nil, 0o600)
	src := &countingSource{lifetime: time.Hour}
	if _, err := New(file, "k", src).Token(); err != nil {
		t.Fatalf("a broken cache dir must not be fatal: %v", err)
	}
}

func BenchmarkWarmToken(b *testing.B) {
	dir := b.TempDir()
	src := &countingSource{lifetime: time.Hour}
	New(dir, "k", src).Token()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := New(dir, "k", src).Token(); err != nil {
			b.Fatal(err)
		}
	}
}

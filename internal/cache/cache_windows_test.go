package cache

import (
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gcrcred/gcrcred/test/wintest"
)

type mintCounter struct{ calls atomic.Int64 }

func (m *mintCounter) Token() (*oauth2.Token, error) {
	n := m.calls.Add(1)
	return &oauth2.Token{AccessToken: "tok-" + string(rune('a'+n%26)), Expiry: time.Now().Add(time.Hour)}, nil
}

// TestCacheSharedAcrossSourcesOnWindows: a token minted once is read back
// from disk by a second Source (a second process, in effect), and 16 cold
// starts at once mint once (LockFileEx).
func TestCacheSharedAcrossSourcesOnWindows(t *testing.T) {
	dir := filepath.Join(wintest.TempDir(t), "gcrcred")
	src := &mintCounter{}
	first, err := New(dir, "k", src, lockWait).Token()
	if err != nil {
		t.Fatal(err)
	}
	second, err := New(dir, "k", src, lockWait).Token()
	if err != nil || second.AccessToken != first.AccessToken || src.calls.Load() != 1 {
		t.Fatalf("second = %v, %v; %d mints", second, err, src.calls.Load())
	}
	if tok, ok := Peek(dir, "k"); !ok || tok.AccessToken != first.AccessToken {
		t.Fatalf("Peek = %v, %v", tok, ok)
	}

	cold := &mintCounter{}
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); New(dir, "cold", cold, lockWait).Token() }()
	}
	wg.Wait()
	if n := cold.calls.Load(); n != 1 {
		t.Fatalf("16 cold starts minted %d times, want 1", n)
	}
}

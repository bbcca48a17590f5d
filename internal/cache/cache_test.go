//go:build !windows

package cache

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestReuseAcrossSourcesSharingADir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	src := &countingSource{lifetime: time.Hour}
	first, err := New(dir, "k", src, lockWait).Token()
	if err != nil {
		t.Fatal(err)
	}
	// A second wrapper (a second process, in effect) gets the same token.
	second, err := New(dir, "k", src, lockWait).Token()
	if err != nil || second.AccessToken != first.AccessToken || src.calls.Load() != 1 {
		t.Fatalf("second = %v, %v; calls %d", second, err, src.calls.Load())
	}
	// Another key never sees it.
	other, _ := New(dir, "k2", src, lockWait).Token()
	if other.AccessToken == first.AccessToken {
		t.Fatal("a different key got the same token")
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(Path(dir, "k")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v", fi.Mode().Perm())
	}
	if tok, ok := Peek(dir, "k"); !ok || tok.AccessToken != first.AccessToken {
		t.Fatalf("Peek = %v, %v", tok, ok)
	}
}

func TestExpiringTokenIsReminted(t *testing.T) {
	dir := t.TempDir()
	src := &countingSource{lifetime: Margin - time.Second} // born inside the margin
	New(dir, "k", src, lockWait).Token()
	New(dir, "k", src, lockWait).Token()
	if src.calls.Load() != 2 {
		t.Fatalf("calls = %d: a token with less than Margin left was reused", src.calls.Load())
	}
	// ...but if minting fails it is still served while it lives.
	src.fail.Store(true)
	tok, err := New(dir, "k", src, lockWait).Token()
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
		go func() { defer wg.Done(); New(dir, "k", src, lockWait).Token() }()
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
	if _, err := New(file, "k", src, lockWait).Token(); err != nil {
		t.Fatalf("a broken cache dir must not be fatal: %v", err)
	}
}

func TestOnlyWhatGcrcredWroteIsBelieved(t *testing.T) {
	cases := []struct {
		name  string
		spoil func(t *testing.T, dir, path string)
	}{
		{"mode 0644", func(t *testing.T, dir, path string) { os.Chmod(path, 0o644) }},
		{"mode 0400", func(t *testing.T, dir, path string) { os.Chmod(path, 0o400) }},
		{"a symlink to a good entry", func(t *testing.T, dir, path string) {
			os.Rename(path, filepath.Join(dir, "elsewhere"))
			os.Symlink("elsewhere", path)
		}},
		// Owned by another user: test/security, as a second uid.
		{"a directory", func(t *testing.T, dir, path string) { os.Remove(path); os.Mkdir(path, 0o700) }},
		{"a FIFO", func(t *testing.T, dir, path string) { os.Remove(path); syscall.Mkfifo(path, 0o600) }},
		{"expiry beyond 12 hours", func(t *testing.T, dir, path string) {
			plant(t, dir, "k", "planted", time.Now().Add(MaxLifetime+time.Hour))
		}},
		{"another key", func(t *testing.T, dir, path string) {
			b, _ := json.Marshal(entry{Version: formatVersion, Key: "other", AccessToken: "planted", Expiry: time.Now().Add(time.Hour)})
			os.WriteFile(path, b, 0o600)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := plant(t, dir, "k", "planted", time.Now().Add(time.Hour))
			c.spoil(t, dir, path)
			src := &countingSource{lifetime: time.Hour}
			tok, err := New(dir, "k", src, lockWait).Token()
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken == "planted" || src.calls.Load() != 1 {
				t.Fatalf("served %q with %d mints: the spoiled entry was believed", tok.AccessToken, src.calls.Load())
			}
		})
	}
}

func TestUntrustedDirectoryIsNeitherReadNorWrittenNorChmodded(t *testing.T) {
	for _, mode := range []os.FileMode{0o777 | os.ModeSticky, 0o770, 0o702} {
		dir := filepath.Join(t.TempDir(), "shared")
		os.Mkdir(dir, 0o700)
		plant(t, dir, "k", "planted", time.Now().Add(time.Hour))
		os.Chmod(dir, mode)
		src := &countingSource{lifetime: time.Hour}
		for i := 0; i < 2; i++ {
			tok, err := New(dir, "k", src, lockWait).Token()
			if err != nil || tok.AccessToken == "planted" {
				t.Fatalf("mode %v: got %v, %v", mode, tok, err)
			}
		}
		if src.calls.Load() != 2 {
			t.Fatalf("mode %v: %d mints for 2 calls: something was cached in an untrusted directory", mode, src.calls.Load())
		}
		fi, _ := os.Stat(dir)
		if fi.Mode()&(os.ModePerm|os.ModeSticky) != mode {
			t.Fatalf("directory mode changed from %v to %v", mode, fi.Mode())
		}
	}
}

// A directory of another user: test/security's
// TestCacheDirectoryOfAnotherUserIsNotUsed, as a second uid.

func TestSymlinkedDirectoryIsNotUsed(t *testing.T) {
	real := t.TempDir()
	plant(t, real, "k", "planted", time.Now().Add(time.Hour))
	link := filepath.Join(t.TempDir(), "cache")
	os.Symlink(real, link)
	src := &countingSource{lifetime: time.Hour}
	tok, err := New(link, "k", src, lockWait).Token()
	if err != nil || tok.AccessToken == "planted" {
		t.Fatalf("got %v, %v through a symlinked cache directory", tok, err)
	}
}

func TestLongLivedTokenIsCachedWithinMaxLifetime(t *testing.T) {
	dir := t.TempDir()
	src := &countingSource{lifetime: 48 * time.Hour}
	New(dir, "k", src, lockWait).Token()
	New(dir, "k", src, lockWait).Token()
	if src.calls.Load() != 1 {
		t.Fatalf("calls = %d: a clamped entry should be reused", src.calls.Load())
	}
	if tok, _ := Peek(dir, "k"); time.Until(tok.Expiry) > MaxLifetime {
		t.Fatalf("cached expiry %s is beyond MaxLifetime", tok.Expiry)
	}
}

func BenchmarkWarmToken(b *testing.B) {
	dir := b.TempDir()
	src := &countingSource{lifetime: time.Hour}
	New(dir, "k", src, lockWait).Token()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := New(dir, "k", src, lockWait).Token(); err != nil {
			b.Fatal(err)
		}
	}
}

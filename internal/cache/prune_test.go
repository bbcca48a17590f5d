package cache

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/internal/privdir"
	"github.com/gcrcred/gcrcred/test/wintest"
)

func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// A failed mint leaves no file behind: an identity that cannot mint (a
// bogus service account, say) must not grow the directory.
func TestFailedMintLeavesNothing(t *testing.T) {
	dir := wintest.TempDir(t)
	src := &countingSource{lifetime: time.Hour}
	src.fail.Store(true)
	for i := 0; i < 40; i++ {
		if _, err := New(dir, "bogus-"+strings.Repeat("x", i), src, lockWait).Token(); err == nil {
			t.Fatal("a failing source gave a token")
		}
	}
	if n := files(t, dir); len(n) != 0 {
		t.Fatalf("40 failed mints left %d files: %v", len(n), n)
	}
}

// A mint prunes the entries that expired, their locks and orphan locks,
// and keeps live entries, its own and what another process holds locked.
func TestMintPrunesExpiredEntries(t *testing.T) {
	dir := wintest.TempDir(t)
	src := &countingSource{lifetime: time.Hour}
	if _, err := New(dir, "live", src, lockWait).Token(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		key := "gone-" + strings.Repeat("y", i)
		p := plant(t, dir, key, "t", time.Now().Add(-time.Minute))
		os.WriteFile(p+lockSuffix, nil, 0o600)
	}
	orphan := Path(dir, "orphan") + lockSuffix
	os.WriteFile(orphan, nil, 0o600)
	corrupt := Path(dir, "corrupt")
	os.WriteFile(corrupt, []byte("{"), 0o600)
	held := plant(t, dir, "held", "t", time.Now().Add(-time.Minute))
	d := openDir(t, dir)
	unlock, err := d.Lock(fileNameOf(held)+lockSuffix, 0)
	if err != nil {
		t.Fatal(err)
	}
	other := "unrelated.txt"
	os.WriteFile(dir+"/"+other, nil, 0o600)

	if _, err := New(dir, "new", src, lockWait).Token(); err != nil {
		t.Fatal(err)
	}
	unlock()
	want := []string{fileName("held"), fileName("held") + lockSuffix, fileName("live"), fileName("live") + lockSuffix,
		fileName("new"), fileName("new") + lockSuffix, other}
	sort.Strings(want)
	if got := files(t, dir); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("after the mint:\n got  %v\n want %v", got, want)
	}
}

// A process waiting on a lock that its holder removes (a failed mint, a
// prune) locks the new file, so two processes never both think they hold it.
func TestRemovedLockIsNotHeldTwice(t *testing.T) {
	dir := wintest.TempDir(t)
	name := fileName("k") + lockSuffix
	var inside sync.Mutex
	var overlap atomic.Bool
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 20; n++ {
				d, err := privdir.Open(dir, true)
				if err != nil {
					t.Error(err)
					return
				}
				unlock, err := d.Lock(name, 10*time.Second)
				if err != nil {
					t.Error(err)
					d.Close()
					return
				}
				if !inside.TryLock() {
					overlap.Store(true)
				} else {
					time.Sleep(time.Millisecond)
					// Removing the file hands the lock on (the next process
					// locks a new file): leave the critical section first.
					inside.Unlock()
					d.Remove(name) // as a failed mint does, while holding it
				}
				unlock()
				d.Close()
			}
		}()
	}
	wg.Wait()
	if overlap.Load() {
		t.Fatal("two holders of the lock at once after it was removed")
	}
}

func openDir(t *testing.T, dir string) *privdir.Dir {
	t.Helper()
	d, err := privdir.Open(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func fileNameOf(path string) string { return filepath.Base(path) }

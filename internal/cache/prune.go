package cache

import (
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/logx"
	"github.com/gcrcred/gcrcred/internal/privdir"
)

// lockSuffix names an entry's lock file: ENTRY.json.lock.
const lockSuffix = ".lock"

// maxPrune bounds the files one prune looks at, so a cold mint stays
// quick whatever the directory holds; the next mint goes on.
const maxPrune = 512

// isEntryName reports whether name is a cache entry's (fileName: 32 hex
// digits and .json). By hand: a regexp compiled at start would cost every
// process, the warm get included.
func isEntryName(name string) bool {
	hex, ok := strings.CutSuffix(name, ".json")
	if !ok || len(hex) != 32 {
		return false
	}
	for i := 0; i < len(hex); i++ {
		if c := hex[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// removeEntry removes the entry name and its lock file; the caller holds
// that lock. A process waiting on the lock then finds its file gone and
// locks a new one (privdir.Lock).
func removeEntry(d *privdir.Dir, name string) {
	if err := d.Remove(name); err != nil {
		logx.Debugf("pruning the token cache: %v", err)
	}
	if err := d.Remove(name + lockSuffix); err != nil {
		logx.Debugf("pruning the token cache: %v", err)
	}
}

// prune removes the entries of d that expired before now, with their lock
// files, and lock files whose entry is gone: an identity's files last no
// longer than its token (the kubelet's per-pod cache sees a new identity
// for every service account). It runs after a mint, never in the warm
// path, and skips whatever another process holds locked.
func prune(d *privdir.Dir, now time.Time) {
	names, err := d.Names()
	if err != nil {
		return
	}
	present := map[string]bool{}
	for _, n := range names {
		present[n] = true
	}
	looked := 0
	for _, n := range names {
		entry, isLock := strings.CutSuffix(n, lockSuffix)
		switch {
		case !isEntryName(entry):
			continue
		case isLock && present[entry]:
			continue // judged with its entry
		case !isLock && !expired(d, n, now):
			continue
		}
		if looked++; looked > maxPrune {
			return
		}
		unlock, err := d.Lock(entry+lockSuffix, 0)
		if err != nil {
			continue // in use
		}
		// Judged again under the lock: another process may have just
		// written a fresh entry.
		if isLock && !exists(d, entry) || !isLock && expired(d, entry, now) {
			logx.Debugf("pruning expired token cache entry %s", entry)
			removeEntry(d, entry)
		}
		unlock()
	}
}

// expired reports whether the entry name is past its expiry, or is no
// entry at all (corrupt, another version): neither is ever served.
func expired(d *privdir.Dir, name string, now time.Time) bool {
	b, err := d.ReadFile(name, maxFileSize)
	if err != nil {
		return false // not ours to judge (another owner, a link): read() ignores it
	}
	var e entry
	if json.Unmarshal(b, &e) != nil || e.Version != formatVersion {
		return true
	}
	return !now.Before(e.Expiry)
}

func exists(d *privdir.Dir, name string) bool {
	_, err := d.ReadFile(name, maxFileSize)
	return !errors.Is(err, fs.ErrNotExist)
}

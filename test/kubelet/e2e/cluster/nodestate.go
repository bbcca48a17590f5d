package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Poll calls cond every 200 ms until it reports done, ctx ends or timeout
// passes; the error names what was awaited and what cond said last.
func Poll(ctx context.Context, timeout time.Duration, what string, cond func(context.Context) (bool, error)) error {
	return poll(ctx, timeout, what, cond)
}

// Snapshot is the state of some of the node's files: each path (under the
// roots it was taken of) with its type, mode, owner and content digest or
// link target.
type Snapshot map[string]string

// SnapshotPaths records the files and directories at the given node paths
// (trees walked, symbolic links not followed); absent paths are recorded as
// absent, so that one that appears later shows.
func SnapshotPaths(paths ...string) (Snapshot, error) {
	s := Snapshot{}
	for _, root := range paths {
		matches, err := filepath.Glob(root)
		if err != nil {
			return nil, err
		}
		if len(matches) == 0 {
			s[root] = "absent"
			continue
		}
		for _, m := range matches {
			err := filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				fi, err := os.Lstat(p)
				if err != nil {
					return err
				}
				s[p] = describeFile(p, fi)
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

func describeFile(p string, fi os.FileInfo) string {
	owner := ""
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		owner = fmt.Sprintf(" %d:%d", st.Uid, st.Gid)
	}
	desc := fmt.Sprintf("%s%s", fi.Mode(), owner)
	switch {
	case fi.Mode().IsRegular():
		b, err := os.ReadFile(p)
		if err != nil {
			return desc + " unreadable: " + err.Error()
		}
		sum := sha256.Sum256(b)
		desc += fmt.Sprintf(" %d bytes sha256:%s", len(b), hex.EncodeToString(sum[:8]))
	case fi.Mode()&fs.ModeSymlink != 0:
		t, _ := os.Readlink(p)
		desc += " -> " + t
	}
	return desc
}

// Digest is one short digest of the whole snapshot.
func (s Snapshot) Digest() string {
	h := sha256.New()
	for _, k := range s.sorted() {
		fmt.Fprintf(h, "%s\x00%s\n", k, s[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Files counts the entries that exist.
func (s Snapshot) Files() int {
	n := 0
	for _, v := range s {
		if v != "absent" {
			n++
		}
	}
	return n
}

func (s Snapshot) sorted() []string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Diff lists how other differs from s ("" when they are the same): each
// path added, removed or changed, with both states.
func (s Snapshot) Diff(other Snapshot) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, k := range s.sorted() {
		seen[k] = true
		if v, ok := other[k]; !ok {
			fmt.Fprintf(&b, "  gone     %s (was %s)\n", k, s[k])
		} else if v != s[k] {
			fmt.Fprintf(&b, "  changed  %s: %s -> %s\n", k, s[k], v)
		}
	}
	for _, k := range other.sorted() {
		if !seen[k] {
			fmt.Fprintf(&b, "  new      %s: %s\n", k, other[k])
		}
	}
	return b.String()
}

// globAll lists the regular files under dir whose names end in suffix.
func globAll(dir, suffix string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(p, suffix) {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// readFileIfExists is os.ReadFile with a missing file read as empty.
func readFileIfExists(p string) ([]byte, error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// Fatal wraps err so that Poll gives up at once.
func Fatal(err error) error { return fatal(err) }

// poll calls cond every 200 ms until it reports done, ctx ends or timeout
// passes. cond's last error (or "not yet") is part of the timeout error, so
// a failure says what was being waited for and what was last seen.
func poll(ctx context.Context, timeout time.Duration, what string, cond func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		done, err := cond(ctx)
		if done && err == nil {
			return nil
		}
		var fatal *fatalError
		if errors.As(err, &fatal) {
			return fmt.Errorf("waiting for %s: %w", what, fatal.err)
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last == nil {
				last = errors.New("condition not met")
			}
			return fmt.Errorf("waiting for %s: gave up after %v: %w", what, timeout, last)
		case <-tick.C:
		}
	}
}

// fatalError stops a poll at once.
type fatalError struct{ err error }

func (f *fatalError) Error() string { return f.err.Error() }

func fatal(err error) error { return &fatalError{err} }

package fakecluster

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// Tree is a file tree as a test compares it: every path with its type,
// mode, owner and content hash (or link target). Times are left out.
type Tree map[string]string

// Snapshot reads the tree under root, leaving out the paths under skip
// (relative, e.g. "run/fakenode").
func Snapshot(t testing.TB, root string, skip ...string) Tree {
	t.Helper()
	tree := Tree{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, s := range skip {
			if rel == s || strings.HasPrefix(rel, s+"/") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		var uid, gid uint32
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = st.Uid, st.Gid
		}
		what := ""
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			what, _ = os.Readlink(path)
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			h := sha256.Sum256(b)
			what = hex.EncodeToString(h[:8])
		}
		tree[rel] = fmt.Sprintf("%v %d:%d %s", fi.Mode(), uid, gid, what)
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot of %s: %v", root, err)
	}
	return tree
}

// NodeTree is a node's tree without the fake's own bookkeeping.
func (c *Cluster) NodeTree(node string) Tree {
	c.t.Helper()
	return Snapshot(c.t, c.Root(node), "run/fakenode", "dev")
}

// Diff lists how b differs from a, sorted; empty means equal.
func Diff(a, b Tree) []string {
	var d []string
	for p, v := range a {
		switch w, ok := b[p]; {
		case !ok:
			d = append(d, "- "+p+" ("+v+")")
		case w != v:
			d = append(d, "~ "+p+": "+v+" -> "+w)
		}
	}
	for p, w := range b {
		if _, ok := a[p]; !ok {
			d = append(d, "+ "+p+" ("+w+")")
		}
	}
	sort.Strings(d)
	return d
}

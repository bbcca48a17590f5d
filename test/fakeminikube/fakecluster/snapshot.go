package fakecluster

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
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
	tree, err := walk(root, skip, func(path string, fi fs.FileInfo, st *syscall.Stat_t) (string, error) {
		what := ""
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			what, _ = os.Readlink(path)
		case fi.Mode().IsRegular():
			var err error
			if what, err = contentHash(path, fi); err != nil {
				return "", err
			}
		}
		return fmt.Sprintf("%v %d:%d %s", fi.Mode(), st.Uid, st.Gid, what), nil
	})
	if err != nil {
		t.Fatalf("snapshot of %s: %v", root, err)
	}
	return tree
}

// walk is each file's and directory's describe under root, by path
// relative to root, but for the paths skip names and what is under them.
func walk(root string, skip []string, describe func(path string, fi fs.FileInfo, st *syscall.Stat_t) (string, error)) (Tree, error) {
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
		tree[rel], err = describe(path, fi, fi.Sys().(*syscall.Stat_t))
		return err
	})
	return tree, err
}

// Stamps are the inode and modification time of every file and directory
// under root: a file rewritten with the same bytes (a new inode after a
// rename, a new mtime in place; its directory's mtime for a temporary file)
// differs here while Snapshot sees no change. (Not ctime: node roots share
// hard links, whose ctime moves whenever another root links them.)
func Stamps(t testing.TB, root string, skip ...string) Tree {
	t.Helper()
	tree, err := walk(root, skip, func(_ string, _ fs.FileInfo, st *syscall.Stat_t) (string, error) {
		return fmt.Sprintf("inode %d mtime %d", st.Ino, st.Mtim.Nano()), nil
	})
	if err != nil {
		t.Fatalf("stamps of %s: %v", root, err)
	}
	return tree
}

// fileID tells a file's content apart without reading it again: any write
// or chmod moves its ctime.
type fileID struct {
	dev, ino    uint64
	size        int64
	mtime, ctim int64
}

// hashes are the content hashes of the files seen by this process: node
// roots share hard links (the userland and its applets, the fake's binary) and
// hold the same large files from one snapshot to the next.
var hashes sync.Map // fileID -> string

func contentHash(path string, fi fs.FileInfo) (string, error) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	var id fileID
	if ok {
		id = fileID{uint64(st.Dev), uint64(st.Ino), fi.Size(), fi.ModTime().UnixNano(), st.Ctim.Nano()}
		if h, ok := hashes.Load(id); ok {
			return h.(string), nil
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	sum := hex.EncodeToString(h.Sum(nil)[:8])
	if ok {
		hashes.Store(id, sum)
	}
	return sum, nil
}

// NodeTree is a node's tree without the fake's own bookkeeping (Node.Tree).
func (c *Cluster) NodeTree(node string) Tree {
	c.t.Helper()
	return c.Node(node).Tree()
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

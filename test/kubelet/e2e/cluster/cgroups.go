package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The kubelet (cgroupDriver: cgroupfs) and runc create cgroups in the
// machine's cgroup file system, which no namespace hides. So the kubelet's
// cgroupRoot is a cgroup of this run's own, made in every hierarchy before
// the kubelet starts and removed (deepest first) once every process of the
// node is gone.

// cgroupHierarchies are the mount points of the machine's cgroup file systems.
func cgroupHierarchies() ([]string, error) {
	mounts, err := readMountinfo()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range mounts {
		if (m.fs == "cgroup" || m.fs == "cgroup2") && strings.HasPrefix(m.point, "/sys/fs/cgroup") {
			out = append(out, m.point)
		}
	}
	return out, nil
}

// createCgroupRoot makes /NAME in every hierarchy. A new cgroup v1 cpuset has
// no CPUs and no memory nodes until told: it gets its parent's.
func createCgroupRoot(name string) error {
	hier, err := cgroupHierarchies()
	if err != nil {
		return err
	}
	if len(hier) == 0 {
		return errors.New("no cgroup file system under /sys/fs/cgroup")
	}
	for _, h := range hier {
		dir := filepath.Join(h, name)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("cgroup %s: %w", dir, err)
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if b, err := os.ReadFile(filepath.Join(h, f)); err == nil {
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
					return fmt.Errorf("cgroup %s/%s: %w", dir, f, err)
				}
			}
		}
	}
	return nil
}

// removeCgroups removes /NAME and everything under it in every hierarchy,
// children first. A cgroup whose last task is still exiting cannot go yet,
// so it tries again until a deadline.
func removeCgroups(ctx context.Context, name string) error {
	if name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("bad cgroup name %q", name)
	}
	hier, err := cgroupHierarchies()
	if err != nil {
		return err
	}
	return poll(ctx, 30*time.Second, "cgroups /"+name+" to go", func(context.Context) (bool, error) {
		var left []string
		for _, h := range hier {
			root := filepath.Join(h, name)
			var dirs []string
			filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.IsDir() {
					dirs = append(dirs, p)
				}
				return nil
			})
			for i := len(dirs) - 1; i >= 0; i-- { // WalkDir lists parents before children
				if err := os.Remove(dirs[i]); err != nil && !errors.Is(err, fs.ErrNotExist) {
					left = append(left, dirs[i])
				}
			}
		}
		if len(left) > 0 {
			return false, fmt.Errorf("still there: %s", strings.Join(left, ", "))
		}
		return true, nil
	})
}

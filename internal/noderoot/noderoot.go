// Package noderoot is a node's file system mounted on this machine (the
// node's own /, a chroot, or the host's / at /host in a pod), read and
// written with every path confined to it in the kernel: each path is
// opened relative to a descriptor of the root with openat2 and
// RESOLVE_IN_ROOT|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS, or where the
// kernel lacks openat2, by a walk of openat(O_NOFOLLOW) one component at
// a time. A symbolic link anywhere on the way, or "..", is refused, never
// followed; a path is never resolved in user space and reused as a string.
//
// Hand-written rather than with github.com/cyphar/filepath-securejoin: that
// library resolves symbolic links inside the root, where gcrcred must
// refuse them (a link a user swaps in for a directory of theirs would be
// followed to wherever it points inside the node, /etc included).
package noderoot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gcrcred/gcrcred/internal/smallfile"
)

// Root is a node's file system, held open.
type Root struct {
	dir string
	fd  int // the root, O_PATH
	// walk: the kernel has no openat2 (or a seccomp filter refuses it);
	// paths are opened one component at a time.
	walk bool
}

// Open holds dir open as a node's root. dir itself is the caller's (an
// argument such as --root): it is the one path resolved as usual.
func Open(dir string) (*Root, error) {
	fd, err := unix.Open(dir, oPath|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening the node root %s: %w", dir, err)
	}
	return &Root{dir: dir, fd: fd, walk: !haveOpenat2(fd)}, nil
}

// Dir is the root's directory on this machine (for chroot and messages).
func (r *Root) Dir() string { return r.dir }

// IsHost reports whether the root is this machine's own /.
func (r *Root) IsHost() bool { return r.dir == "" || path.Clean(r.dir) == "/" }

// Walks reports whether paths are opened by the openat walk, not openat2.
func (r *Root) Walks() bool { return r.walk }

// Close releases the root.
func (r *Root) Close() error { return unix.Close(r.fd) }

// components splits an absolute node path; ".." is refused (systemd and
// the kubelet would resolve it, gcrcred does not guess).
func components(p string) ([]string, error) {
	if !path.IsAbs(p) {
		return nil, fmt.Errorf("%q is not an absolute node path", p)
	}
	var out []string
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "", ".":
		case "..":
			return nil, fmt.Errorf("%s: a node path with \"..\" is refused", p)
		default:
			out = append(out, c)
		}
	}
	return out, nil
}

// open opens the node path p with flags (O_NOFOLLOW always: a final link
// is an error, or with O_PATH the link itself).
func (r *Root) open(p string, flags int, mode uint32) (int, error) {
	comps, err := components(p)
	if err != nil {
		return -1, err
	}
	flags |= unix.O_NOFOLLOW | unix.O_CLOEXEC
	var fd int
	switch {
	case len(comps) == 0:
		fd, err = unix.Openat(r.fd, ".", flags&^unix.O_NOFOLLOW, mode)
	case r.walk:
		fd, err = walkOpen(r.fd, comps, flags, mode)
	default:
		fd, err = openat2(r.fd, strings.Join(comps, "/"), flags, mode)
	}
	if err != nil {
		return -1, r.pathError("open", p, comps, err)
	}
	return fd, nil
}

// walkOpen opens comps below dirfd one at a time, every directory on the
// way with O_PATH|O_NOFOLLOW|O_DIRECTORY: a link is never followed, and
// ".." never reaches this far.
func walkOpen(dirfd int, comps []string, flags int, mode uint32) (int, error) {
	cur := dirfd
	defer func() {
		if cur != dirfd {
			unix.Close(cur)
		}
	}()
	for _, c := range comps[:len(comps)-1] {
		next, err := unix.Openat(cur, c, oPath|unix.O_NOFOLLOW|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, err
		}
		if cur != dirfd {
			unix.Close(cur)
		}
		cur = next
	}
	return unix.Openat(cur, comps[len(comps)-1], flags, mode)
}

// pathError names the node path, and the link on it if that is why.
func (r *Root) pathError(op, p string, comps []string, err error) error {
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.EXDEV) {
		if link := r.firstLink(comps); link != "" {
			return &LinkError{Path: link}
		}
	}
	return &fs.PathError{Op: op, Path: p, Err: err}
}

// firstLink is the first component of comps that is a symbolic link ("" if none).
func (r *Root) firstLink(comps []string) string {
	cur := r.fd
	defer func() {
		if cur != r.fd {
			unix.Close(cur)
		}
	}()
	for i, c := range comps {
		var st unix.Stat_t
		if unix.Fstatat(cur, c, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
			return ""
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return "/" + strings.Join(comps[:i+1], "/")
		}
		next, err := unix.Openat(cur, c, oPath|unix.O_NOFOLLOW|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return ""
		}
		if cur != r.fd {
			unix.Close(cur)
		}
		cur = next
	}
	return ""
}

// Lstat is the file at p, or the link itself if p ends in one.
func (r *Root) Lstat(p string) (Info, error) {
	fd, err := r.open(p, oPath, 0)
	if err != nil {
		return Info{}, err
	}
	defer unix.Close(fd)
	return fstat(fd, p)
}

// Exists reports whether p exists (a link counts); an error other than
// "not there" (a link on the way, say) counts as existing.
func (r *Root) Exists(p string) bool {
	_, err := r.Lstat(p)
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}

// OpenFile opens the regular file p for reading, without blocking on a
// FIFO and without following a link.
func (r *Root) OpenFile(p string) (*os.File, Info, error) {
	fd, err := r.open(p, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, Info{}, err
	}
	return regularFile(fd, p)
}

func regularFile(fd int, p string) (*os.File, Info, error) {
	info, err := fstat(fd, p)
	if err == nil && !info.IsRegular() {
		err = fmt.Errorf("%s is %s, not a regular file", p, smallfile.TypeName(info.Mode))
	}
	if err != nil {
		unix.Close(fd)
		return nil, Info{}, err
	}
	return os.NewFile(uintptr(fd), p), info, nil
}

// ReadFile reads the regular file p, at most max bytes (a larger file is
// an error, not a truncation).
func (r *Root) ReadFile(p string, max int64) ([]byte, Info, error) {
	f, info, err := r.OpenFile(p)
	if err != nil {
		return nil, Info{}, err
	}
	defer f.Close()
	b, err := readAll(f, p, max)
	return b, info, err
}

func readAll(f *os.File, p string, max int64) ([]byte, error) {
	b, err := smallfile.ReadUpTo(f, max+1)
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a file gcrcred reads", p, max)
	}
	return b, nil
}

// OpenDir opens the directory p.
func (r *Root) OpenDir(p string) (*Dir, error) {
	fd, err := r.open(p, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	return newDir(fd, path.Clean(p))
}

// OpenTrustedDir opens the directory p to write into it: p and every
// directory above it (under the root) must be root's and writable by no
// one else, so no other user can swap anything on the way after the check.
func (r *Root) OpenTrustedDir(p string) (*Dir, error) {
	if err := r.CheckPath(p); err != nil {
		return nil, err
	}
	d, err := r.OpenDir(p)
	if err != nil {
		return nil, err
	}
	// Checked again on the descriptor held: only root could have changed it.
	if err := CheckTrusted(d.path, d.info); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// CheckPath checks every existing component of p below the root, p too,
// parents first: each must be root's and writable by no one else (a
// directory of another user's on the way could be swapped for a link or
// another directory). Components that do not exist are fine: install
// makes them. The error names the first component that fails.
func (r *Root) CheckPath(p string) error {
	comps, err := components(p)
	if err != nil {
		return err
	}
	for i := range comps {
		sub := "/" + strings.Join(comps[:i+1], "/")
		info, err := r.Lstat(sub)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if info.Mode&fs.ModeSymlink != 0 {
			return &LinkError{Path: sub}
		}
		if err := CheckTrusted(sub, info); err != nil {
			return err
		}
	}
	return nil
}

// usrMergedDirs may be links to /usr's on a merged-/usr system.
var usrMergedDirs = map[string]bool{"bin": true, "sbin": true, "lib": true, "lib32": true, "lib64": true, "libx32": true}

// UsrMerged is p with a leading /bin, /sbin or /lib* that is merged /usr's
// link (to usr/NAME or /usr/NAME) replaced by /usr/NAME, so a unit's
// ExecStart=/bin/... opens without following a link: the link is read and
// recognised, never followed, and any other link stays refused.
func (r *Root) UsrMerged(p string) string {
	comps, err := components(p)
	if err != nil || len(comps) == 0 || !usrMergedDirs[comps[0]] {
		return p
	}
	info, err := r.Lstat("/" + comps[0])
	if err != nil || info.Mode&fs.ModeSymlink == 0 || info.UID != 0 {
		return p
	}
	buf := make([]byte, 64)
	n, err := unix.Readlinkat(r.fd, comps[0], buf)
	if err != nil {
		return p
	}
	switch strings.TrimSuffix(string(buf[:n]), "/") {
	case "usr/" + comps[0], "/usr/" + comps[0]:
		return "/" + strings.Join(append([]string{"usr"}, comps...), "/")
	}
	return p
}

//go:build !windows

package dockerconfig

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/gcrcred/gcrcred/internal/fileowner"
)

// openDir opens dir without following a last link and checks that it is
// still the directory of owner that was checked.
func openDir(dir string, owner int) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", dir, err)
	}
	d := os.NewFile(uintptr(fd), dir)
	fi, err := d.Stat()
	if err == nil {
		if uid, _, _ := fileowner.Of(fi); uid != owner {
			err = fmt.Errorf("%s changed while gcrcred was editing it (now uid %d, was %d): run again", dir, uid, owner)
		}
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// OpenIn is Open for the config.json of a user whose home directory the
// caller opened without following links (a node's, under --root): its
// ".docker" is opened through that descriptor (or, with create, made 0700
// for the home's owner), and a link at ".docker" or at config.json is
// refused, never followed: its target would be a path only the node can
// resolve. homePath names the home in messages.
func OpenIn(home *os.File, homePath string, create bool) (*File, error) {
	dirPath := filepath.Join(homePath, ".docker")
	f := &File{Path: filepath.Join(dirPath, "config.json"), name: "config.json", owner: -1}
	hfd := int(home.Fd())
	const dirFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(hfd, ".docker", dirFlags, 0)
	if errors.Is(err, unix.ENOENT) {
		if !create {
			return f, nil
		}
		if err := unix.Mkdirat(hfd, ".docker", 0o700); err != nil {
			return nil, fmt.Errorf("creating %s: %w", dirPath, err)
		}
		f.dirCreated = true
		fd, err = unix.Openat(hfd, ".docker", dirFlags, 0)
	}
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		return nil, linkRefused(dirPath)
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", dirPath, err)
	}
	f.dir = os.NewFile(uintptr(fd), dirPath)
	if err := f.openedIn(home); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// openedIn finishes OpenIn: the directory's owner (a new one is given to
// the home's), a hold on the home, and no link at config.json.
func (f *File) openedIn(home *os.File) error {
	fi, err := f.dir.Stat()
	if err != nil {
		return err
	}
	f.owner, _, _ = fileowner.Of(fi)
	if f.dirCreated {
		hi, err := home.Stat()
		if err != nil {
			return err
		}
		uid, gid, _ := fileowner.Of(hi)
		if err := f.dir.Chown(uid, gid); err != nil {
			return err
		}
		f.owner = uid
	}
	pfd, err := unix.Dup(int(home.Fd()))
	if err != nil {
		return err
	}
	unix.CloseOnExec(pfd)
	f.parent = os.NewFile(uintptr(pfd), filepath.Dir(filepath.Dir(f.Path)))
	var st unix.Stat_t
	if unix.Fstatat(int(f.dir.Fd()), f.name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return linkRefused(f.Path)
	}
	return nil
}

func linkRefused(p string) error {
	return fmt.Errorf("%s is a symbolic link: point its target at gcrcred with `gcrcred configure-docker` as its user", p)
}

// DirCreated says whether Open made the directory.
// Read returns the file's content and its mode and owner; a nil Info when
// it does not exist. Only a regular file of the directory's owner is read.
func (f *File) Read() ([]byte, *Info, error) {
	if f.dir == nil {
		return nil, nil, nil
	}
	fd, err := unix.Openat(int(f.dir.Fd()), f.name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("opening %s: %w", f.Path, err)
	}
	file := os.NewFile(uintptr(fd), f.Path)
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return nil, nil, err
	}
	uid, gid, _ := fileowner.Of(fi)
	if !fi.Mode().IsRegular() || uid != f.owner {
		return nil, nil, fmt.Errorf("%s changed while gcrcred was editing it (not a regular file of uid %d): run again", f.Path, f.owner)
	}
	data, err := io.ReadAll(io.LimitReader(file, maxConfigSize+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > maxConfigSize {
		return nil, nil, fmt.Errorf("%s is larger than %d bytes: not a Docker config gcrcred edits", f.Path, maxConfigSize)
	}
	return data, &Info{Mode: fi.Mode().Perm(), UID: uid, GID: gid}, nil
}

// Remove deletes the file (and, if Open made it or removeDir, the directory
// when empty).
func (f *File) Remove(removeDir bool) error {
	if f.dir == nil {
		return nil
	}
	if err := unix.Unlinkat(int(f.dir.Fd()), f.name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("removing %s: %w", f.Path, err)
	}
	if removeDir || f.dirCreated { // only if empty
		if f.parent != nil {
			_ = unix.Unlinkat(int(f.parent.Fd()), ".docker", unix.AT_REMOVEDIR)
		} else {
			_ = os.Remove(filepath.Dir(f.Path))
		}
	}
	return nil
}

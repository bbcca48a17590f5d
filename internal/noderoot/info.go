package noderoot

import (
	"fmt"
	"io/fs"
	"time"

	"golang.org/x/sys/unix"
)

// Info is what gcrcred checks of a node file.
type Info struct {
	Mode     fs.FileMode // type and permission bits
	UID, GID int
	Dev, Ino uint64
	Size     int64
	ModTime  time.Time
}

// IsDir reports whether the file is a directory.
func (i Info) IsDir() bool { return i.Mode.IsDir() }

// IsRegular reports whether the file is a regular file.
func (i Info) IsRegular() bool { return i.Mode.IsRegular() }

// Trusted reports whether only root can change the file: owned by root
// and writable by neither group nor others.
func (i Info) Trusted() bool { return i.UID == 0 && i.Mode.Perm()&0o022 == 0 }

// SameFile reports whether two infos are of one file.
func (i Info) SameFile(o Info) bool { return i.Dev == o.Dev && i.Ino == o.Ino }

// LinkError is a path with a symbolic link where a file or directory
// was expected: never followed under a node root.
type LinkError struct{ Path string }

func (e *LinkError) Error() string {
	return e.Path + " is a symbolic link: gcrcred follows no links on a node (replace it with the file or directory it points to)"
}

// UntrustedError is a file or directory that someone besides root can
// change, where gcrcred needs one only root can.
type UntrustedError struct {
	Path string
	Info Info
}

func (e *UntrustedError) Error() string {
	return fmt.Sprintf("%s is %04o uid %d: gcrcred trusts only what root alone can change (owned by root, not writable by group or others); fix its owner and mode or use another path", e.Path, e.Info.Mode.Perm(), e.Info.UID)
}

// CheckTrusted returns an UntrustedError unless only root can change info.
func CheckTrusted(p string, info Info) error {
	if !info.Trusted() {
		return &UntrustedError{Path: p, Info: info}
	}
	return nil
}

func fstat(fd int, p string) (Info, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return Info{}, &fs.PathError{Op: "stat", Path: p, Err: err}
	}
	return infoOf(&st), nil
}

func infoOf(st *unix.Stat_t) Info {
	return Info{
		Mode: fileMode(uint32(st.Mode)), UID: int(st.Uid), GID: int(st.Gid),
		Dev: uint64(st.Dev), Ino: uint64(st.Ino), Size: st.Size,
		ModTime: time.Unix(int64(st.Mtim.Sec), int64(st.Mtim.Nsec)),
	}
}

// fileMode is os.FileMode of a stat mode.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	}
	if m&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// unixMode is the chmod argument for an os.FileMode.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		u |= unix.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		u |= unix.S_ISVTX
	}
	return u
}

package winfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Open opens path for reading (and writing with write; created if missing
// with create) without following a link: a symbolic link or junction at
// path is refused, never followed. dir says whether path must be a
// directory or a regular file.
func Open(path string, dir, write, create bool) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	access := uint32(windows.GENERIC_READ)
	if write {
		access |= windows.GENERIC_WRITE
	}
	disposition := uint32(windows.OPEN_EXISTING)
	if create {
		disposition = windows.OPEN_ALWAYS
	}
	flags := uint32(windows.FILE_FLAG_OPEN_REPARSE_POINT)
	if dir {
		flags |= windows.FILE_FLAG_BACKUP_SEMANTICS // needed to open a directory
	}
	share := uint32(windows.FILE_SHARE_READ | windows.FILE_SHARE_WRITE | windows.FILE_SHARE_DELETE)
	h, err := windows.CreateFile(p, access, share, nil, disposition, flags, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		windows.CloseHandle(h)
		return nil, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	isDir := info.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY != 0
	switch {
	case info.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0:
		err = fmt.Errorf("%s is a symbolic link or junction", path)
	case dir && !isDir:
		err = fmt.Errorf("%s is not a directory", path)
	case !dir && isDir:
		err = fmt.Errorf("%s is a directory, not a file", path)
	}
	if err != nil {
		windows.CloseHandle(h)
		return nil, err
	}
	return os.NewFile(uintptr(h), path), nil
}

// fileDeleteChild is FILE_DELETE_CHILD (x/sys/windows has no name for it).
const fileDeleteChild = 0x40

// writeRights are the rights that let a holder change a file or what a
// directory holds.
const writeRights = windows.FILE_WRITE_DATA | windows.FILE_APPEND_DATA | windows.FILE_WRITE_EA |
	windows.FILE_WRITE_ATTRIBUTES | fileDeleteChild | windows.DELETE | windows.WRITE_DAC |
	windows.WRITE_OWNER | windows.GENERIC_WRITE | windows.GENERIC_ALL

// CheckPrivate refuses an opened file or directory unless this user owns
// it (the token's user, or the owner its new files get: Administrators for
// an elevated administrator) and its DACL lets no one else write to it but
// SYSTEM and Administrators, who can take any file anyway. It is what the
// Unix code's "owned by the effective user, mode without group or other
// write" means on Windows.
func CheckPrivate(f *os.File) error {
	sd, err := windows.GetSecurityInfo(windows.Handle(f.Fd()), windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("reading the security of %s: %w", f.Name(), err)
	}
	owner, _, err := sd.Owner()
	if err != nil || owner == nil {
		return fmt.Errorf("%s has no owner", f.Name())
	}
	mine, err := selfSIDs()
	if err != nil {
		return err
	}
	if !anyEqual(owner, mine) {
		return fmt.Errorf("%s belongs to %s, not to this user", f.Name(), owner)
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		// No DACL at all grants everyone every right.
		return fmt.Errorf("%s has no access list: anyone may write to it", f.Name())
	}
	trusted := append(mine, owner)
	for _, t := range []windows.WELL_KNOWN_SID_TYPE{windows.WinLocalSystemSid, windows.WinBuiltinAdministratorsSid, windows.WinCreatorOwnerSid} {
		if s, err := windows.CreateWellKnownSid(t); err == nil {
			trusted = append(trusted, s)
		}
	}
	for i := uint32(0); i < uint32(dacl.AceCount); i++ {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return fmt.Errorf("reading the access list of %s: %w", f.Name(), err)
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || ace.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0 {
			continue
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		if uint32(ace.Mask)&writeRights != 0 && !anyEqual(sid, trusted) {
			return fmt.Errorf("%s is writable by %s, not only by this user", f.Name(), sid)
		}
	}
	return nil
}

// selfSIDs are the SIDs whose files are this user's: the token's user and
// its default owner for new objects.
func selfSIDs() ([]*windows.SID, error) {
	tok := windows.GetCurrentProcessToken()
	u, err := tok.GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("reading this process's user: %w", err)
	}
	sids := []*windows.SID{u.User.Sid}
	var n uint32
	_ = windows.GetTokenInformation(tok, windows.TokenOwner, nil, 0, &n)
	if n > 0 {
		buf := make([]byte, n)
		if err := windows.GetTokenInformation(tok, windows.TokenOwner, &buf[0], n, &n); err == nil {
			// TOKEN_OWNER is one pointer to a SID inside buf.
			if s := *(**windows.SID)(unsafe.Pointer(&buf[0])); s != nil {
				c, err := s.Copy()
				if err == nil {
					sids = append(sids, c)
				}
			}
		}
	}
	return sids, nil
}

func anyEqual(s *windows.SID, set []*windows.SID) bool {
	for _, t := range set {
		if s.Equals(t) {
			return true
		}
	}
	return false
}

// ErrLocked is returned by TryLock when another holder has the lock.
var ErrLocked = errors.New("locked by another process")

// TryLock takes an exclusive lock on f (LockFileEx on its first byte)
// without waiting; ErrLocked when someone else holds it.
func TryLock(f *os.File) error {
	ol := new(windows.Overlapped)
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return ErrLocked
	}
	return err
}

// Unlock releases TryLock's lock.
func Unlock(f *os.File) error {
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, new(windows.Overlapped))
}

// Replace moves from over to (replacing it) and returns once the move is
// on disk (MOVEFILE_WRITE_THROUGH), as rename + fsync of the directory do
// on Unix.
func Replace(from, to string) error {
	f, err := windows.UTF16PtrFromString(from)
	if err != nil {
		return err
	}
	t, err := windows.UTF16PtrFromString(to)
	if err != nil {
		return err
	}
	if err := windows.MoveFileEx(f, t, windows.MOVEFILE_REPLACE_EXISTING|windows.MOVEFILE_WRITE_THROUGH); err != nil {
		return &os.LinkError{Op: "replace", Old: from, New: to, Err: err}
	}
	return nil
}

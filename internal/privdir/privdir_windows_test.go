package privdir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/gcrcred/gcrcred/test/wintest"
)

func TestPrivateDirectoryRoundTrip(t *testing.T) {
	path := filepath.Join(wintest.TempDir(t), "a", "cache")
	d, err := Open(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.WriteFile("k.json", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteFile("k.json", []byte("two")); err != nil { // replaces an existing file
		t.Fatal(err)
	}
	b, err := d.ReadFile("k.json", 16)
	if err != nil || string(b) != "two" {
		t.Fatalf("ReadFile = %q, %v", b, err)
	}
	if _, err := d.ReadFile("k.json", 2); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("a file over the limit was read: %v", err)
	}
	names, err := d.Names()
	if err != nil || len(names) != 1 || names[0] != "k.json" {
		t.Fatalf("Names = %v, %v (temporary files left?)", names, err)
	}
	if err := d.Remove("k.json"); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove("k.json"); err != nil {
		t.Fatalf("removing a missing file: %v", err)
	}
}

// TestDirectoryWritableByEveryoneIsRefused: the Windows form of a 0777
// cache directory, one whose access list lets Everyone write.
func TestDirectoryWritableByEveryoneIsRefused(t *testing.T) {
	path := filepath.Join(wintest.TempDir(t), "shared")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if d, err := Open(path, false); err != nil {
		t.Fatalf("a fresh directory of ours is refused: %v", err)
	} else {
		d.Close()
	}
	setDACL(t, path, "D:P(A;OICI;FA;;;WD)") // Everyone: full control
	if d, err := Open(path, false); err == nil {
		d.Close()
		t.Fatal("a directory Everyone may write to was used")
	} else if !strings.Contains(err.Error(), "writable by") {
		t.Fatalf("refused for another reason: %v", err)
	}
}

// TestFileOfAnotherOwnerIsRefused: a cache file owned by another account
// (here SYSTEM, as a service would have written it) is not believed.
func TestFileOfAnotherOwnerIsRefused(t *testing.T) {
	if wintest.UnderWine() {
		t.Skip("Wine keeps no file owners (every file is the running user's): this rule is tested on Windows only")
	}
	path := filepath.Join(wintest.TempDir(t), "cache")
	d, err := Open(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.WriteFile("k.json", []byte("x")); err != nil {
		t.Fatal(err)
	}
	system, err := windows.CreateWellKnownSid(windows.WinLocalSystemSid)
	if err != nil {
		t.Fatal(err)
	}
	if err := windows.SetNamedSecurityInfo(filepath.Join(path, "k.json"), windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION, system, nil, nil, nil); err != nil {
		t.Fatalf("giving the file to SYSTEM: %v", err)
	}
	if b, err := d.ReadFile("k.json", 16); err == nil {
		t.Fatalf("a file of SYSTEM's was read: %q", b)
	}
}

func TestLinkedDirectoryIsRefused(t *testing.T) {
	base := wintest.TempDir(t)
	real := filepath.Join(base, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatalf("making a directory link: %v", err)
	}
	if fi, err := os.Stat(link); err != nil || !fi.IsDir() {
		// Wine 8 makes the link but cannot follow it: a refusal there
		// would prove nothing.
		t.Skipf("this system cannot follow the directory link it made (%v): tested on Windows only", err)
	}
	if d, err := Open(link, false); err == nil {
		d.Close()
		t.Fatal("a symbolic link to a directory was followed")
	}
}

// TestLockExcludes: LockFileEx keeps a second holder out until the first
// lets go, as flock does on Unix.
func TestLockExcludes(t *testing.T) {
	d, err := Open(filepath.Join(wintest.TempDir(t), "cache"), true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	unlock, err := d.Lock("k.lock", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if u2, err := d.Lock("k.lock", 100*time.Millisecond); err == nil {
		u2()
		t.Fatal("a second lock was granted while the first is held")
	}
	unlock()
	u3, err := d.Lock("k.lock", time.Second)
	if err != nil {
		t.Fatalf("the lock was not released: %v", err)
	}
	u3()
}

func setDACL(t *testing.T, path, sddl string) {
	t.Helper()
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		t.Fatal(err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		t.Fatal(err)
	}
	if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		t.Fatalf("setting the access list of %s: %v", path, err)
	}
}

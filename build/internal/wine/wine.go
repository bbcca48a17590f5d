// Package wine runs Windows amd64 programs on Linux amd64 under Debian's
// Wine (`apt-get install wine64 binutils-mingw-w64-x86-64`), for the
// checks that Windows builds start and for Windows unit tests where no
// Windows machine is at hand.
//
// Go 1.24+ programs need bcryptprimitives.dll's ProcessPrng at start-up,
// which Debian 12's Wine 8 lacks: each prefix gets a DLL that forwards it
// to advapi32's SystemFunction036 (RtlGenRandom; Go reads only the low
// byte of its result), linked by MinGW's ld from a module-definition file,
// with no code of its own.
package wine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Install is the Debian packages Wine needs here.
const Install = "apt-get install -y --no-install-recommends wine64 binutils-mingw-w64-x86-64"

// A Prefix is a Wine prefix ready to run Go programs.
type Prefix struct {
	wine, dir string
}

// shimDef is the module definition of the forwarding DLL.
const shimDef = "LIBRARY bcryptprimitives.dll\nEXPORTS\nProcessPrng=advapi32.SystemFunction036\n"

// Find locates wine64 and MinGW's ld; the error says what to install.
func Find() (wine, ld string, err error) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return "", "", fmt.Errorf("wine: Windows amd64 programs run here only on linux/amd64, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	for _, c := range []string{"/usr/lib/wine/wine64", "wine64"} {
		if p, e := exec.LookPath(c); e == nil {
			wine = p
			break
		}
	}
	ld, ldErr := exec.LookPath("x86_64-w64-mingw32-ld")
	if wine == "" || ldErr != nil {
		return "", "", fmt.Errorf("wine: Wine or MinGW's ld is not installed: %s", Install)
	}
	return wine, ld, nil
}

// Prepare makes (or reuses) a Wine prefix in dir with the ProcessPrng shim.
func Prepare(ctx context.Context, dir string) (*Prefix, error) {
	wine, ld, err := Find()
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	p := &Prefix{wine: wine, dir: dir}
	system32 := filepath.Join(dir, "drive_c", "windows", "system32")
	shim := filepath.Join(system32, "bcryptprimitives.dll")
	if _, err := os.Stat(shim); err == nil {
		return p, nil
	}
	// The parents as any build directory (bin/ must stay searchable: the
	// tests run bin/gcrcred as a second, unprivileged user); the prefix is
	// Wine's, this user's alone.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
		return nil, err
	}
	// wineboot makes the prefix (about 5 s).
	if out, err := p.run(ctx, 2*time.Minute, "wineboot", "--init"); err != nil {
		return nil, fmt.Errorf("making the Wine prefix %s: %v\n%s", dir, err, out)
	}
	def := filepath.Join(dir, "bcryptprimitives.def")
	if err := os.WriteFile(def, []byte(shimDef), 0o644); err != nil {
		return nil, err
	}
	tmp := shim + ".tmp"
	if out, err := exec.CommandContext(ctx, ld, "--shared", "-o", tmp, def).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("linking the ProcessPrng shim: %v\n%s", err, out)
	}
	return p, os.Rename(tmp, shim)
}

// Env is the environment Windows programs run with: the prefix, no Wine
// debug chatter, then extra KEY=VALUE pairs (Windows programs see them).
func (p *Prefix) Env(extra ...string) []string {
	return append([]string{
		"WINEPREFIX=" + p.dir,
		"WINEDEBUG=-all",
		"HOME=" + p.dir,
		"PATH=/usr/bin:/bin", // Wine's own helpers (wineserver) only
	}, extra...)
}

// Command runs a Windows program (a host path) under Wine.
func (p *Prefix) Command(ctx context.Context, exe string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, p.wine, append([]string{exe}, args...)...)
	cmd.Env = p.Env()
	return cmd
}

// Path is the Windows path of a host file (Wine maps / to drive Z:).
func Path(hostPath string) string {
	abs, err := filepath.Abs(hostPath)
	if err != nil {
		abs = hostPath
	}
	return `Z:` + strings.ReplaceAll(abs, "/", `\`)
}

// Getenv is a variable as Windows programs in the prefix see it (Wine sets
// the profile's, such as LOCALAPPDATA and USERPROFILE, itself).
func (p *Prefix) Getenv(ctx context.Context, name string) (string, error) {
	out, err := p.run(ctx, time.Minute, "cmd", "/c", "echo", "%"+name+"%")
	v := strings.TrimSpace(string(out))
	if err != nil || v == "" || v == "%"+name+"%" {
		return "", fmt.Errorf("%%%s%% under Wine: %v %s", name, err, v)
	}
	return v, nil
}

// HostPath is where a C:\ path of the prefix is on this machine.
func (p *Prefix) HostPath(winPath string) (string, error) {
	rest, ok := strings.CutPrefix(winPath, `C:\`)
	if !ok {
		return "", fmt.Errorf("%s is not on drive C of the Wine prefix", winPath)
	}
	return filepath.Join(p.dir, "drive_c", filepath.FromSlash(strings.ReplaceAll(rest, `\`, "/"))), nil
}

// Close stops the prefix's wineserver (it lingers a few seconds after
// the last program otherwise).
func (p *Prefix) Close() {
	for _, name := range []string{"wineserver", "wineserver64"} {
		server := filepath.Join(filepath.Dir(p.wine), name)
		if _, err := os.Stat(server); err == nil {
			cmd := exec.Command(server, "-k")
			cmd.Env = p.Env()
			_ = cmd.Run()
			return
		}
	}
}

func (p *Prefix) run(ctx context.Context, limit time.Duration, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.wine, args...)
	cmd.Env = p.Env()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("no answer within %s", limit)
	}
	return out.Bytes(), err
}

package hostinstall

import (
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/gcrcred/gcrcred/internal/nodeexec"
	"github.com/gcrcred/gcrcred/internal/version"
)

// GoArch maps `uname -m` on a node to a Go architecture.
func GoArch(unameM string) (string, error) {
	switch strings.TrimSpace(unameM) {
	case "x86_64", "amd64":
		return "amd64", nil
	case "aarch64", "arm64", "armv8l", "aarch64_be":
		return "arm64", nil
	}
	return "", fmt.Errorf("node architecture %q is not one gcrcred is built for (amd64, arm64)", unameM)
}

// NodeArch is a node's Go architecture, from its `uname -m`.
func NodeArch(ctx context.Context, n nodeexec.Node) (string, error) {
	out, err := nodeexec.Output(ctx, n, "uname", "-m")
	if err != nil {
		return "", fmt.Errorf("reading its architecture: %v", err)
	}
	return GoArch(out)
}

// DistName is the file `make dist` writes for a Linux architecture.
func DistName(arch string) string { return "gcrcred-linux-" + arch }

// Binary is the gcrcred the nodes of one architecture get.
type Binary struct {
	Arch, Path, Version, SHA256 string
}

func (b *Binary) String() string {
	return fmt.Sprintf("node binary linux/%s: %s (%s, sha256 %s)", b.Arch, b.Path, b.Version, b.SHA256)
}

// FindBinary picks the linux/arch binary for the nodes: from --dist (or
// GCRCRED_DIST) alone if given; else gcrcred-linux-ARCH next to this
// program, or this program itself when it is a static linux/ARCH build.
// Never from the current directory: whoever can write there would choose
// what runs as root on every node.
func FindBinary(dist, arch string) (*Binary, error) {
	exe, exeErr := executable()
	var candidates []string
	switch {
	case dist != "":
		candidates = []string{filepath.Join(dist, DistName(arch))}
	case exeErr == nil:
		candidates = []string{filepath.Join(filepath.Dir(exe), DistName(arch))}
		if runtime.GOOS == "linux" && runtime.GOARCH == arch {
			candidates = append(candidates, exe)
		}
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		return inspectBinary(abs, arch)
	}
	where := "--dist " + dist
	if dist == "" {
		where = "next to " + exe + " (or pass --dist DIR)"
	}
	return nil, fmt.Errorf("a node is linux/%s, but there is no %s %s: run `make dist` in the gcrcred repository and pass --dist dist, or put a static linux/%s build (CGO_ENABLED=0) there",
		arch, DistName(arch), where, arch)
}

// executable is this gcrcred on disk, links resolved.
func executable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(exe)
}

// inspectBinary refuses a binary a node cannot run or that is not gcrcred
// (another architecture; dynamically linked, as a node may have no C
// library) and reads its version and sha256.
func inspectBinary(path, arch string) (*Binary, error) {
	if err := checkNodeBinary(path, arch); err != nil {
		return nil, err
	}
	v, err := version.OfFile(path)
	if err != nil {
		return nil, fmt.Errorf("%v: rebuild it with `make dist`", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return &Binary{Arch: arch, Path: path, Version: v, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// checkNodeBinary refuses another architecture or a dynamic executable.
func checkNodeBinary(path, arch string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s is not a Linux executable (%v): rebuild it with `make dist`", path, err)
	}
	defer f.Close()
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
	if f.Machine != want {
		return fmt.Errorf("%s is built for %s, not linux/%s: rebuild it with `make dist`", path, f.Machine, arch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New(path + " is dynamically linked, and a node may have no C library for it (minikube's Buildroot nodes have none): build with CGO_ENABLED=0 (`make dist` does)")
		}
	}
	return nil
}

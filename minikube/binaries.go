package minikube

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// goArch maps `uname -m` on a node to a Go architecture.
func goArch(unameM string) (string, error) {
	switch strings.TrimSpace(unameM) {
	case "x86_64", "amd64":
		return "amd64", nil
	case "aarch64", "arm64", "armv8l", "aarch64_be":
		return "arm64", nil
	}
	return "", fmt.Errorf("node architecture %q is not one gcrcred is built for (amd64, arm64)", unameM)
}

// distName is the file `make dist` writes for a Linux architecture.
func distName(arch string) string { return "gcrcred-linux-" + arch }

// distDirs are the directories searched for dist binaries: --dist (or
// GCRCRED_DIST) alone if given, else ./dist and the dist/ next to or above
// the running binary, then the binary's own directory (a release archive).
func distDirs(flagDir string) []string {
	if flagDir != "" {
		return []string{flagDir}
	}
	if d := os.Getenv("GCRCRED_DIST"); d != "" {
		return []string{d}
	}
	dirs := []string{"dist"}
	if exe, err := executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			d := filepath.Dir(exe)
			dirs = append(dirs, filepath.Join(d, "dist"), filepath.Join(d, "..", "dist"), d)
		}
	}
	return dirs
}

// findBinary picks the linux/arch binary for a node: a dist file, else the
// running executable when it is one (same OS and architecture).
func findBinary(flagDir, arch string) (string, error) {
	dirs := distDirs(flagDir)
	for _, d := range dirs {
		p := filepath.Join(d, distName(arch))
		if _, err := os.Stat(p); err == nil {
			abs, _ := filepath.Abs(p)
			return abs, checkNodeBinary(abs, arch)
		}
	}
	if flagDir == "" && runtime.GOOS == "linux" && runtime.GOARCH == arch {
		if exe, err := executable(); err == nil {
			if err := checkNodeBinary(exe, arch); err == nil {
				return exe, nil
			}
		}
	}
	return "", fmt.Errorf("a node is linux/%s, but there is no %s (looked in %s): run `make dist` in the gcrcred repository, or put a linux/%s build there (CGO_ENABLED=0) and pass --dist DIR",
		arch, distName(arch), strings.Join(dirs, ", "), arch)
}

// executable is the gcrcred file on disk.
func executable() (string, error) { return os.Executable() }

// checkNodeBinary refuses a binary a node cannot run: another architecture,
// or dynamically linked (a Buildroot node has no glibc).
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
			return errors.New(path + " is dynamically linked, and minikube's Buildroot nodes have no C library for it: build with CGO_ENABLED=0 (`make dist` does)")
		}
	}
	return nil
}

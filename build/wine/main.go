// Command wine runs Windows builds of gcrcred under Wine on Linux amd64
// (see build/internal/wine), for `make test-windows`:
//
//	go run ./build/wine test PKG...     cross-compile each package's tests for windows/amd64 and run them
//	go run ./build/wine run EXE ARG...  run one Windows program
//
// The Wine prefix is kept in bin/wine (WINE_PREFIX to change it).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/build/internal/wine"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) < 2 || (args[0] != "test" && args[0] != "run") {
		fmt.Fprintln(os.Stderr, "usage: go run ./build/wine test PKG... | run EXE [ARG...]")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	dir := os.Getenv("WINE_PREFIX")
	if dir == "" {
		dir = filepath.Join("bin", "wine")
	}
	p, err := wine.Prepare(ctx, dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "wine: %v\n", err)
		return 1
	}
	defer p.Close()
	if args[0] == "run" {
		return exitCode(attach(p.Command(ctx, args[1], args[2:]...)).Run())
	}
	failed := 0
	for _, pkg := range args[1:] {
		exe := filepath.Join("bin", "windows", strings.NewReplacer("./", "", "/", "_").Replace(pkg)+".test.exe")
		build := exec.CommandContext(ctx, "go", "test", "-c", "-o", exe, pkg)
		build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Printf("FAIL %s (building its tests for windows/amd64: %v)\n%s", pkg, err, out)
			failed++
			continue
		}
		if _, err := os.Stat(exe); err != nil { // no test files
			fmt.Printf("?    %s [no test files]\n", pkg)
			continue
		}
		start := time.Now()
		cmd := attach(p.Command(ctx, exe, "-test.v", "-test.timeout=2m"))
		// The tests' temporary files go in the prefix's own TEMP.
		if err := cmd.Run(); err != nil {
			fmt.Printf("FAIL %s under Wine (%v, %.1fs)\n", pkg, err, time.Since(start).Seconds())
			failed++
			continue
		}
		fmt.Printf("ok   %s under Wine (windows/amd64, %.1fs)\n", pkg, time.Since(start).Seconds())
	}
	if failed > 0 {
		return 1
	}
	return 0
}

func attach(cmd *exec.Cmd) *exec.Cmd {
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "wine: %v\n", err)
		return 1
	}
	return 0
}

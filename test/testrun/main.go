// Command testrun is `go test -json` for `make test`, over several modules,
// with the test binaries kept between runs: it builds them with
// `go test -c -o DIR/`, which links only those whose code changed (go test
// links every one on every run, which was a third of a warm `make test`),
// then runs each from its package's directory through test2json, as go
// test does, several at a time, the longest of the last run first. Its
// output is go test's -json stream (each package's events together), for
// test/testsummary; it exits 1 if a module did not build or a test failed.
//
//	testrun -bin DIR -json FILE [-p N] [-timeout D] MODULE_DIR...
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// pkg is one package with tests, and its test binary.
type pkg struct {
	ImportPath, Dir, Binary string
	alone                   bool // built by a go test -c of its own
}

func main() {
	binDir := flag.String("bin", "", "directory that keeps the test binaries between runs")
	jsonOut := flag.String("json", "", "file to write go test's -json stream to")
	parallel := flag.Int("p", runtime.NumCPU(), "test binaries run at a time")
	timeout := flag.Duration("timeout", 9*time.Minute, "each test binary's -test.timeout")
	flag.Parse()
	if *binDir == "" || *jsonOut == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: testrun -bin DIR -json FILE [-p N] [-timeout D] MODULE_DIR...")
		os.Exit(2)
	}
	dir, err := filepath.Abs(*binDir) // the binaries run from their packages' directories
	if err == nil {
		err = run(dir, *jsonOut, *parallel, *timeout, flag.Args())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testrun:", err)
		os.Exit(1)
	}
}

func run(binDir, jsonOut string, parallel int, timeout time.Duration, modules []string) error {
	test2json, err := goOutput(".", "tool", "-n", "test2json")
	if err != nil {
		return fmt.Errorf("finding test2json: %v", err)
	}
	last := lastElapsed(jsonOut)
	out, err := os.Create(jsonOut)
	if err != nil {
		return err
	}
	defer out.Close()
	failed := false
	var pkgs []pkg
	for _, m := range modules {
		name := strings.ReplaceAll(filepath.Clean(m), "/", "_")
		if name == "." {
			name = "root"
		}
		ps, buildOutput, err := build(m, filepath.Join(binDir, name))
		if err != nil {
			// Plain text in the stream: testsummary prints it and fails.
			fmt.Fprintf(out, "%sFAIL %s [build failed: %v]\n", buildOutput, m, err)
			failed = true
			continue
		}
		pkgs = append(pkgs, ps...)
	}
	sort.SliceStable(pkgs, func(i, j int) bool { return last[pkgs[i].ImportPath] > last[pkgs[j].ImportPath] })

	// Each binary runs in a process group of its own (so that a timeout
	// kills what it started too), out of reach of a terminal's Ctrl-C:
	// testrun passes the interrupt on and stops.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	var mu sync.Mutex
	work := make(chan pkg)
	var wg sync.WaitGroup
	for range max(parallel, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				events, err := runTests(ctx, test2json, p, timeout)
				mu.Lock()
				out.Write(events)
				failed = failed || err != nil
				mu.Unlock()
			}
		}()
	}
dispatch:
	for _, p := range pkgs {
		select {
		case work <- p:
		case <-ctx.Done():
			break dispatch
		}
	}
	close(work)
	wg.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: the tests that ran are in %s", jsonOut)
	}
	if failed {
		return fmt.Errorf("a module did not build or a test failed (see %s)", jsonOut)
	}
	return nil
}

// build lists the module's packages that have tests and builds their test
// binaries into dir; it returns go's output when that fails.
func build(module, dir string) ([]pkg, string, error) {
	list, err := goOutput(module, "list", "-f", "{{if or .TestGoFiles .XTestGoFiles}}test{{else}}none{{end}}\t{{.ImportPath}}\t{{.Dir}}", "./...")
	if err != nil {
		return nil, "", fmt.Errorf("go list: %v", err)
	}
	var pkgs []pkg
	byName := map[string]bool{}
	var batch, untested []string
	for _, line := range strings.Split(list, "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			continue
		}
		importPath, pkgDir := f[1], f[2]
		if f[0] == "none" {
			untested = append(untested, importPath)
			continue
		}
		// go test -c -o DIR/ names a binary after the package's last
		// element; a second package of that name gets a file of its own.
		name, alone := path.Base(importPath)+".test", false
		if byName[name] {
			name, alone = strings.ReplaceAll(importPath, "/", "_")+".test", true
		} else {
			batch = append(batch, importPath)
		}
		byName[name] = true
		pkgs = append(pkgs, pkg{ImportPath: importPath, Dir: pkgDir, Binary: filepath.Join(dir, name), alone: alone})
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	// The packages without tests (a demo, a tool) are type-checked too, as
	// go test ./... would compile them; go vet does it without linking
	// their programs, and keeps its results in the build cache.
	if len(untested) > 0 {
		if out, err := goCombined(module, append([]string{"vet"}, untested...)...); err != nil {
			return nil, out, err
		}
	}
	if len(batch) > 0 {
		if out, err := goCombined(module, append([]string{"test", "-c", "-o", dir + "/"}, batch...)...); err != nil {
			return nil, out, err
		}
	}
	for _, p := range pkgs {
		if p.alone {
			if out, err := goCombined(module, "test", "-c", "-o", p.Binary, p.ImportPath); err != nil {
				return nil, out, err
			}
		}
	}
	return pkgs, "", nil
}

// runTests runs one package's test binary from its directory, as go test
// does, and returns test2json's events; err if the binary failed.
func runTests(ctx context.Context, test2json string, p pkg, timeout time.Duration) ([]byte, error) {
	// As go test: the binary's own -test.timeout panics with the stacks;
	// a minute later, or once a child left behind holds the output open,
	// the whole process group is killed.
	ctx, cancel := context.WithTimeout(ctx, timeout+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, test2json, "-t", "-p", p.ImportPath, p.Binary,
		"-test.v=test2json", "-test.paniconexit0", "-test.count=1", "-test.timeout="+timeout.String())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Minute
	cmd.Dir = p.Dir
	// PWD as go test sets it; the module's other test binaries, for a test
	// that runs some itself (test/machine), instead of linking them again.
	cmd.Env = append(os.Environ(), "PWD="+p.Dir, "GCRCRED_TEST_BINARIES_DIR="+filepath.Dir(p.Binary))
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stdout // test2json writes the binary's stderr as events; its own errors land here
	err := cmd.Run()
	if err != nil && !bytes.Contains(stdout.Bytes(), []byte(`"Action":"fail"`)) {
		// No fail event (the binary could not start): say so in the stream.
		fmt.Fprintf(&stdout, "FAIL %s [%v]\n", p.ImportPath, err)
	}
	return stdout.Bytes(), err
}

// lastElapsed is each package's time in the previous run's stream, so that
// the longest start first and two CPUs finish together.
func lastElapsed(file string) map[string]float64 {
	elapsed := map[string]float64{}
	f, err := os.Open(file)
	if err != nil {
		return elapsed
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e struct {
			Action, Package, Test string
			Elapsed               float64
		}
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Test == "" && (e.Action == "pass" || e.Action == "fail") {
			elapsed[e.Package] = e.Elapsed
		}
	}
	return elapsed
}

func goOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	return strings.TrimSpace(string(b)), err
}

func goCombined(dir string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	return string(b), err
}

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// module writes a module of its own under dir: files maps a path to Go source.
func module(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	files["go.mod"] = "module example.com/m\n\ngo 1.22\n"
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// results reads the stream's package results: import path -> action.
func results(t *testing.T, file string) (map[string]string, string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		var e struct{ Action, Package, Test string }
		if json.Unmarshal([]byte(line), &e) == nil && e.Test == "" && (e.Action == "pass" || e.Action == "fail") {
			got[e.Package] = e.Action
		}
	}
	return got, string(b)
}

// TestRunReportsEachPackageAndFails: a failing test fails the run, every
// package runs from its own directory, two packages of one name each get
// their binary, and a second run links nothing it does not need to.
func TestRunReportsEachPackageAndFails(t *testing.T) {
	dir := module(t, t.TempDir(), map[string]string{
		"ok/ok_test.go": `package ok
import ("os"; "testing")
func TestHere(t *testing.T) { if _, err := os.Stat("ok_test.go"); err != nil { t.Fatal("not run from its directory") } }`,
		"bad/bad_test.go": "package bad\nimport \"testing\"\nfunc TestFails(t *testing.T) { t.Fatal(\"as it should\") }\n",
		"a/x/x_test.go":   "package x\nimport \"testing\"\nfunc TestA(t *testing.T) {}\n",
		"b/x/x_test.go":   "package x\nimport \"testing\"\nfunc TestB(t *testing.T) {}\n",
		"notests/n.go":    "package notests\n",
	})
	bin, out := filepath.Join(t.TempDir(), "bin"), filepath.Join(t.TempDir(), "test.json")
	if err := run(bin, out, 2, time.Minute, []string{dir}); err == nil {
		t.Error("a run with a failing test succeeded")
	}
	got, stream := results(t, out)
	want := map[string]string{"example.com/m/ok": "pass", "example.com/m/bad": "fail", "example.com/m/a/x": "pass", "example.com/m/b/x": "pass"}
	for p, action := range want {
		if got[p] != action {
			t.Errorf("%s: %q, want %q\n%s", p, got[p], action, stream)
		}
	}
	if len(got) != len(want) {
		t.Errorf("results for %v, want %v", got, want)
	}
	if !strings.Contains(stream, "as it should") {
		t.Errorf("the failing test's output is not in the stream:\n%s", stream)
	}
}

// TestBuildFailureRunsNothingStale: when a module no longer builds, its
// test binaries from the run before are not run, and the run fails.
func TestBuildFailureRunsNothingStale(t *testing.T) {
	dir := module(t, t.TempDir(), map[string]string{
		"p/p_test.go": "package p\nimport \"testing\"\nfunc TestP(t *testing.T) {}\n",
	})
	bin, out := filepath.Join(t.TempDir(), "bin"), filepath.Join(t.TempDir(), "test.json")
	if err := run(bin, out, 1, time.Minute, []string{dir}); err != nil {
		t.Fatalf("the first run: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "p/p_test.go"), []byte("package p\nfunc broken(\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(bin, out, 1, time.Minute, []string{dir}); err == nil {
		t.Error("a run whose module does not build succeeded")
	}
	got, stream := results(t, out)
	if len(got) != 0 || !strings.Contains(stream, "build failed") {
		t.Errorf("after a build failure: results %v, stream:\n%s", got, stream)
	}
}

// TestUntestedPackageThatDoesNotBuildFails: a package without tests (a
// demo, a tool) is still compiled, as go test compiles it.
func TestUntestedPackageThatDoesNotBuildFails(t *testing.T) {
	dir := module(t, t.TempDir(), map[string]string{
		"p/p_test.go":  "package p\nimport \"testing\"\nfunc TestP(t *testing.T) {}\n",
		"tool/main.go": "package main\nfunc main() { undefined() }\n",
	})
	bin, out := filepath.Join(t.TempDir(), "bin"), filepath.Join(t.TempDir(), "test.json")
	if err := run(bin, out, 1, time.Minute, []string{dir}); err == nil {
		t.Error("a run with a package that does not compile succeeded")
	}
	if _, stream := results(t, out); !strings.Contains(stream, "undefined") {
		t.Errorf("the compile error is not in the stream:\n%s", stream)
	}
}

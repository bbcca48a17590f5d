// Command testsummary reads `go test -json` on stdin and prints what a person
// needs: each package's result, the full output of every failing or skipped
// test, and one closing line with the counts, so that `make test` says how
// many tests skipped and why. It exits 1 if anything failed, or if the
// run whose exit status file is named as an argument did not exit 0 (a
// module that does not build can print no test event at all).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

func main() {
	out := map[string]*strings.Builder{} // package/test -> its output
	var passed, failed, skipped int
	var skips, fails []string
	buildFailed := false
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			fmt.Println(sc.Text()) // build errors come as plain text
			buildFailed = buildFailed || strings.Contains(sc.Text(), "FAIL")
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			if out[key] == nil {
				out[key] = &strings.Builder{}
			}
			out[key].WriteString(e.Output)
		case "pass":
			if e.Test != "" {
				passed++
			} else {
				fmt.Printf("ok   %s %.1fs\n", e.Package, e.Elapsed)
			}
		case "skip":
			if e.Test == "" {
				continue // a package without tests
			}
			skipped++
			skips = append(skips, key+": "+lastLine(out[key]))
		case "fail":
			if e.Test != "" {
				failed++
				fails = append(fails, key)
				fmt.Printf("--- FAIL %s\n%s", key, text(out[key]))
			} else {
				fmt.Printf("FAIL %s %.1fs\n%s", e.Package, e.Elapsed, text(out[key]))
				buildFailed = true
			}
		}
	}
	if err := sc.Err(); err != nil { // a line over the buffer: the counts would be short
		fmt.Println("reading go test's output:", err)
		buildFailed = true
	}
	sort.Strings(skips)
	for _, s := range skips {
		fmt.Println("skipped:", s)
	}
	for _, rc := range os.Args[1:] {
		if status := exitStatus(rc); status != "0" {
			fmt.Printf("the test run (%s): exit status %s\n", rc, status)
			buildFailed = true
		}
	}
	// The failures again at the end, where a long log is read first.
	for _, f := range fails {
		fmt.Println("failed:", f)
	}
	fmt.Printf("tests: %d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 || buildFailed {
		os.Exit(1)
	}
}

func text(b *strings.Builder) string {
	if b == nil {
		return ""
	}
	return b.String()
}

func lastLine(b *strings.Builder) string {
	lines := strings.Split(strings.TrimSpace(text(b)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.HasPrefix(l, "---") {
			return l
		}
	}
	return ""
}

// exitStatus is what the file a `go test` wrote its exit status to holds,
// or why there is none.
func exitStatus(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return strings.TrimSpace(string(b))
}

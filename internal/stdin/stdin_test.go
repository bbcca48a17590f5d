package stdin

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestReadCapsSize(t *testing.T) {
	_, err := Read(strings.NewReader(strings.Repeat("a", 2<<10)), 1<<10, time.Second, "a request")
	if err == nil || !strings.Contains(err.Error(), "more than 1 KiB on stdin: that is not a request") {
		t.Fatalf("got %v", err)
	}
}

func TestReadGivesUpOnSilentStdin(t *testing.T) {
	start := time.Now()
	_, err := Read(blockingReader{}, 10, 50*time.Millisecond, "a server URL")
	if err == nil || !strings.Contains(err.Error(), "no input on stdin within 50ms: expected a server URL") {
		t.Fatalf("got %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("took %s", took)
	}
}

func TestReadKeepsEverything(t *testing.T) {
	in := strings.Repeat("x", 1000) + "\n"
	got, err := Read(strings.NewReader(in), 1<<10, time.Second, "x")
	if err != nil || string(got) != in {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
}

type blockingReader struct{}

func (blockingReader) Read([]byte) (int, error) { select {} }

// The process's own stdin, an *os.File, is read without a second
// goroutine: a pipe written and closed, one never written, one holding too
// much.
func TestReadAPipe(t *testing.T) {
	pipe := func(write string, close bool) *os.File {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(); w.Close() })
		go func() {
			w.WriteString(write)
			if close {
				w.Close()
			}
		}()
		return r
	}
	in := strings.Repeat("x", 3000) + "\n"
	if got, err := Read(pipe(in, true), 1<<12, time.Second, "x"); err != nil || string(got) != in {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
	start := time.Now()
	if _, err := Read(pipe("gcr.io", false), 1<<10, 100*time.Millisecond, "a server URL"); err == nil || !strings.Contains(err.Error(), "no input on stdin within 100ms") || time.Since(start) > 2*time.Second {
		t.Fatalf("an open pipe: %v after %s", err, time.Since(start))
	}
	if _, err := Read(pipe(strings.Repeat("a", 2<<10), true), 1<<10, time.Second, "a request"); err == nil || !strings.Contains(err.Error(), "more than 1 KiB") {
		t.Fatalf("too much: %v", err)
	}
}

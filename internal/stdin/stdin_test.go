package stdin

import (
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

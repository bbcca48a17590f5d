// Package stdin reads a command's request from standard input with a size
// cap and a deadline. Docker and the kubelet write the request and close
// stdin at once; anything else (a person at a terminal, a stuck pipe) gets a
// clear error instead of a hang.
package stdin

import (
	"fmt"
	"io"
	"os"
	"time"
)

// Read returns all of r, at most limit bytes, waiting at most wait. what
// names the expected input for the error messages ("a server URL").
func Read(r io.Reader, limit int64, wait time.Duration, what string) ([]byte, error) {
	if f, ok := r.(*os.File); ok {
		if data, err, ok := readPolled(f, limit, wait, what); ok {
			return data, err
		}
	}
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := io.ReadAll(io.LimitReader(r, limit+1))
		done <- result{data, err}
	}()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case res := <-done:
		if res.err != nil {
			return nil, readError(what, res.err)
		}
		if int64(len(res.data)) > limit {
			return nil, tooMuch(limit, what)
		}
		return res.data, nil
	case <-timer.C:
		// The reader goroutine is left blocked; the process exits next.
		return nil, silent(wait, what)
	}
}

func readError(what string, err error) error {
	return fmt.Errorf("reading %s from stdin: %v", what, err)
}

func tooMuch(limit int64, what string) error {
	return fmt.Errorf("more than %d KiB on stdin: that is not %s", limit>>10, what)
}

func silent(wait time.Duration, what string) error {
	return fmt.Errorf("no input on stdin within %s: expected %s, written by the caller and then closed", wait, what)
}

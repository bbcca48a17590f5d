// Package limits holds how long gcrcred waits for anything, all derived from
// one setting, GCRCRED_TIMEOUT (default 20s): the most that minting a token
// may take, every attempt included. The kubelet kills a plugin after one
// minute, so the defaults end well inside it; tests shorten them all at once.
package limits

import (
	"os"
	"time"
)

// EnvTimeout names the setting.
const EnvTimeout = "GCRCRED_TIMEOUT"

// DefaultTimeout is the mint budget when GCRCRED_TIMEOUT is unset or invalid.
const DefaultTimeout = 20 * time.Second

// maxTimeout keeps a whole kubelet call (Answer) under the kubelet's minute.
const maxTimeout = 22 * time.Second

// Timeout is the budget for minting one token, all attempts included.
func Timeout() time.Duration {
	d, err := time.ParseDuration(os.Getenv(EnvTimeout))
	if err != nil || d <= 0 {
		return DefaultTimeout
	}
	return min(d, maxTimeout)
}

// Attempt is the budget for one request to a token endpoint (2/5 of Timeout:
// 8 s by default, so a hung endpoint still leaves time for a retry).
func Attempt() time.Duration { return Timeout() * 2 / 5 }

// Stdin is how long a command waits for its request on stdin (half of
// Timeout): Docker and the kubelet write it at once, a person at a terminal
// gets an error instead of a hang.
func Stdin() time.Duration { return Timeout() / 2 }

// LockWait is how long a process waits for another one that is minting the
// same token before minting on its own (a little more than a mint may take).
func LockWait() time.Duration { return Timeout() * 5 / 4 }

// Answer bounds a whole kubelet call: stdin, lock wait and mint, under the
// kubelet's one-minute kill (50 s by default).
func Answer() time.Duration { return Timeout() * 5 / 2 }

// Package limits holds how long gcrcred waits for anything, all derived from
// one budget, GCRCRED_TIMEOUT (internal/settings; default 20s): the most
// that minting a token may take, every attempt included. The kubelet kills
// a plugin after one minute, so the defaults end well inside it; tests
// shorten them all at once.
package limits

import "time"

// DefaultTimeout is the mint budget when none is set.
const DefaultTimeout = 20 * time.Second

// Limits are the waits of one process, derived from its mint budget. The
// zero value is the default budget.
type Limits struct {
	Timeout time.Duration // the mint budget; 0: DefaultTimeout
}

// Mint is the budget for minting one token, all attempts included.
func (l Limits) Mint() time.Duration {
	if l.Timeout <= 0 {
		return DefaultTimeout
	}
	return l.Timeout
}

// Attempt is the budget for one request to a token endpoint (2/5 of Mint:
// 8 s by default, so a hung endpoint still leaves time for a retry).
func (l Limits) Attempt() time.Duration { return l.Mint() * 2 / 5 }

// Stdin is how long a command waits for its request on stdin (half of
// Mint): Docker and the kubelet write it at once, a person at a terminal
// gets an error instead of a hang.
func (l Limits) Stdin() time.Duration { return l.Mint() / 2 }

// LockWait is how long a process waits for another one that is minting the
// same token before minting on its own (a little more than a mint may take).
func (l Limits) LockWait() time.Duration { return l.Mint() * 5 / 4 }

// Answer bounds a whole kubelet call: stdin, lock wait and mint, under the
// kubelet's one-minute kill (50 s by default).
func (l Limits) Answer() time.Duration { return l.Mint() * 5 / 2 }

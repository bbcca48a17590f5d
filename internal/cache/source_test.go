package cache

import (
	"errors"
	"github.com/gcrcred/gcrcred/internal/limits"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// countingSource mints numbered tokens and counts calls.
type countingSource struct {
	calls    atomic.Int64
	lifetime time.Duration
	fail     atomic.Bool
}

func (c *countingSource) Token() (*oauth2.Token, error) {
	n := c.calls.Add(1)
	if c.fail.Load() {
		return nil, errors.New("endpoint down")
	}
	return &oauth2.Token{AccessToken: "tok-" + string(rune('a'+n%26)), Expiry: time.Now().Add(c.lifetime)}, nil
}

// lockWait is the default wait for another process's mint.
var lockWait = limits.Limits{}.LockWait()

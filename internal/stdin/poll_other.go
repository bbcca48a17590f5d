//go:build !unix

package stdin

import (
	"os"
	"time"
)

// readPolled is Read's fast path where there is poll(2); not here.
func readPolled(*os.File, int64, time.Duration, string) ([]byte, error, bool) {
	return nil, nil, false
}

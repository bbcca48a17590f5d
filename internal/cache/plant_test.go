package cache

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

// plant writes a cache entry for key as if gcrcred had, then lets tweak
// spoil it in one way.
func plant(t *testing.T, dir, key, token string, expiry time.Time) string {
	t.Helper()
	b, _ := json.Marshal(entry{Version: formatVersion, Key: key, AccessToken: token, Expiry: expiry})
	path := Path(dir, key)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

//go:build launcher

package launcher

import _ "embed"

// payload is the full gcrcred for this platform, put here by `make build`
// (never committed).
//
//go:embed gcrcred-full
var payload []byte

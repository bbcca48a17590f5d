//go:build !launcher

package launcher

// payload is empty outside the launcher build; see payload_embedded.go.
var payload []byte

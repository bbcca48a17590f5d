// Package unitapi is the wire protocol between the e2e node's supervisor (the
// stand-in for systemd, in package cluster) and its systemctl command: one
// JSON request and one JSON reply per connection on a unix socket. The
// supervisor does all the parsing, so the command stays a few lines long.
package unitapi

// Socket is where the supervisor listens, inside the node's root. The
// systemctl command reads $GCRCRED_E2E_SYSTEMCTL_SOCKET first.
const Socket = "/run/gcrcred-e2e/systemctl.sock"

// SocketEnv overrides Socket for the systemctl command.
const SocketEnv = "GCRCRED_E2E_SYSTEMCTL_SOCKET"

// Request is systemctl's command line, without the program name.
type Request struct {
	Args []string `json:"args"`
}

// Reply is what systemctl prints and its exit status.
type Reply struct {
	Stdout string `json:"stdout,omitempty"`
	Stderr string `json:"stderr,omitempty"`
	Code   int    `json:"code"`
}

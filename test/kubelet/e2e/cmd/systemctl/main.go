// Command systemctl is the e2e node's systemctl: it hands its arguments to
// the harness's supervisor (package cluster) over a unix socket and prints
// the reply, so `systemctl daemon-reload`, `systemctl restart kubelet` and
// `systemctl is-active --quiet kubelet` work on a node that has no systemd,
// run directly or through `chroot /host` from a pod.
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/gcrcred/gcrcred/test/kubelet/e2e/unitapi"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	socket := unitapi.Socket
	if s := os.Getenv(unitapi.SocketEnv); s != "" {
		socket = s
	}
	conn, err := net.DialTimeout("unix", socket, 5*time.Second)
	if err != nil {
		// What the real systemctl says on a machine without systemd.
		fmt.Fprintf(os.Stderr, "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: %v\n", err)
		return 1
	}
	defer conn.Close()
	// A restart waits for the old process to stop (up to the unit's stop timeout).
	conn.SetDeadline(time.Now().Add(3 * time.Minute))
	if err := json.NewEncoder(conn).Encode(unitapi.Request{Args: args}); err != nil {
		fmt.Fprintf(os.Stderr, "systemctl: sending request: %v\n", err)
		return 1
	}
	var reply unitapi.Reply
	if err := json.NewDecoder(conn).Decode(&reply); err != nil {
		fmt.Fprintf(os.Stderr, "systemctl: reading reply: %v\n", err)
		return 1
	}
	os.Stdout.WriteString(reply.Stdout)
	os.Stderr.WriteString(reply.Stderr)
	return reply.Code
}

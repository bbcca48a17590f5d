//go:build !windows

package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/gcrcred/gcrcred/kind"
	"github.com/gcrcred/gcrcred/minikube"
	"github.com/gcrcred/gcrcred/node"
)

// runInstaller dispatches the installers. minikube and kind drive their
// CLIs from a Linux or macOS host; node changes the machine it runs on,
// which must be a Linux node.
func runInstaller(cmd string, args []string, stdout, stderr io.Writer) int {
	switch cmd {
	case "minikube":
		return minikube.Run(args, stdout, stderr)
	case "kind":
		return kind.Run(args, stdout, stderr)
	}
	if runtime.GOOS != "linux" {
		fmt.Fprintf(stderr, "gcrcred node: needs Linux (it sets up the kubelet of the Linux node it runs on; this is %s): run it on the node, or use `gcrcred minikube install` / `gcrcred kind install` from here\n", runtime.GOOS)
		return 2
	}
	return node.Run(args, stdout, stderr)
}

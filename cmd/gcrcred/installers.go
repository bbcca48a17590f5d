//go:build !windows

package main

import (
	"fmt"
	"runtime"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/kind"
	"github.com/gcrcred/gcrcred/minikube"
	"github.com/gcrcred/gcrcred/node"
)

// installerCommands are the installers. minikube and kind drive their
// CLIs from a Linux or macOS host; node changes the machine it runs on,
// which must be a Linux node: elsewhere its commands say so (their help
// still works).
func installerCommands() []*cli.Command {
	n := node.CLI()
	if runtime.GOOS != "linux" {
		for _, sub := range n.Subs {
			sub.Run = func(c *cli.Call) int {
				fmt.Fprintf(c.Stderr, "gcrcred node: needs Linux (it sets up the kubelet of the Linux node it runs on; this is %s): run it on the node, or use `gcrcred minikube install` / `gcrcred kind install` from here\n", runtime.GOOS)
				return cli.ExitUsage
			}
		}
	}
	return []*cli.Command{minikube.CLI(), kind.CLI(), n}
}

// unsupported is "" here: every command runs.
func unsupported(string) string { return "" }

package main

import (
	"fmt"

	"github.com/gcrcred/gcrcred/internal/cli"
)

// installerCommands: the installers drive Linux nodes from a Linux or
// macOS host; on Windows gcrcred is the Docker credential helper only.
func installerCommands() []*cli.Command { return nil }

// unsupported is what the installers' words answer on Windows.
func unsupported(cmd string) string {
	switch cmd {
	case "minikube", "kind", "node":
		return fmt.Sprintf("gcrcred %s: needs Linux (or macOS for minikube and kind): on Windows gcrcred is Docker's credential helper (gcrcred configure-docker); run the installers from a Linux or macOS host, or from WSL", cmd)
	}
	return ""
}

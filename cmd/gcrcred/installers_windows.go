package main

import (
	"fmt"
	"io"
)

// runInstaller: the installers drive Linux nodes from a Linux or macOS
// host; on Windows gcrcred is the Docker credential helper only.
func runInstaller(cmd string, _ []string, _, stderr io.Writer) int {
	fmt.Fprintf(stderr, "gcrcred %s: needs Linux (or macOS for minikube and kind): on Windows gcrcred is Docker's credential helper (gcrcred configure-docker); run the installers from a Linux or macOS host, or from WSL\n", cmd)
	return 2
}

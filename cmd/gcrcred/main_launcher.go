//go:build launcher

// The launcher build of gcrcred (Linux; `make build`, `make dist`): the warm
// path answered without loading the full program, which rides along
// embedded. See internal/launcher.
package main

import (
	"os"

	"github.com/gcrcred/gcrcred/internal/launcher"
)

func main() { os.Exit(launcher.Run(os.Args)) }

// Command gcrcred gives Docker and the kubelet short-lived credentials for
// Google Container Registry and Artifact Registry. This file only builds
// the command tree and dispatches on argv; every command lives in its
// package.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gcrcred/gcrcred/helper"
	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/endpoint"
	"github.com/gcrcred/gcrcred/internal/logx"
	"github.com/gcrcred/gcrcred/internal/settings"
	"github.com/gcrcred/gcrcred/internal/version"
	"github.com/gcrcred/gcrcred/provider"
)

// main is the process shell: it reads argv, the environment (once, into
// settings.Settings) and the streams, and hands them to a front end.
func main() {
	s := settings.FromProcess()
	// The two settings that hold for the whole process, however deep the
	// code that needs them: the log level and the endpoint test switch.
	logx.Setup(os.Stderr, s.Debug)
	endpoint.SetTestLoopback(s.TestLoopbackEndpoints)
	os.Exit(run(os.Args, s))
}

func run(argv []string, s settings.Settings) int {
	stdin, stdout, stderr := os.Stdin, os.Stdout, os.Stderr
	// The Docker helper protocol first, before any command line is built:
	// every `docker pull` runs this.
	if strings.HasPrefix(filepath.Base(argv[0]), "docker-credential-") {
		return helper.Serve(argv[1:], s, stdin, stdout, stderr)
	}
	if len(argv) == 2 {
		switch argv[1] {
		case "get", "store", "erase", "list":
			return helper.Serve(argv[1:], s, stdin, stdout, stderr)
		case "--version":
			fmt.Fprintln(stdout, version.String())
			return 0
		}
	}
	if len(argv) > 1 {
		if msg := unsupported(argv[1]); msg != "" {
			fmt.Fprintln(stderr, msg)
			return cli.ExitUsage
		}
	}
	return cli.Execute(commands(), argv[1:], cli.Call{Stdin: stdin, Stdout: stdout, Stderr: stderr, Settings: s})
}

// commands is gcrcred's command tree.
func commands() *cli.Command {
	root := &cli.Command{
		Name:    "gcrcred",
		Summary: "credentials for gcr.io and Artifact Registry, minted on demand",
		Help: `gcrcred: credentials for gcr.io and Artifact Registry, minted on demand.
As docker-credential-gcrcred it speaks the Docker credential helper protocol.`,
		Footer: `Environment: GCRCRED_CREDENTIALS, GCRCRED_REGISTRIES, GCRCRED_SCOPES,
GCRCRED_CACHE_DIR, GCRCRED_CONFIG_DIR, GCRCRED_TIMEOUT, GCRCRED_AUTH=json-key,
GCRCRED_LOG=debug, GCRCRED_WORKLOAD_IDENTITY, GCRCRED_REQUIRE_SERVICE_ACCOUNT,
GCRCRED_DIST (docs/design.md says what each does).`,
	}
	root.Subs = append([]*cli.Command{
		helper.ConfigureDockerCommand(),
		helper.TokenCommand(),
		helper.DoctorCommand(),
		provider.KubeletConfigCommand(),
		provider.GetCredentialsCommand(),
		provider.WorkloadIdentityCommand(),
	}, installerCommands()...)
	root.Subs = append(root.Subs, helper.ProtocolCommands()...)
	root.Subs = append(root.Subs, &cli.Command{
		Name:    "version",
		Summary: "print the version, commit, build date, Go version and platform",
		Help:    "Prints the version, commit, build date, Go version and platform (also `gcrcred --version`).",
		Run: func(c *cli.Call) int {
			fmt.Fprintln(c.Stdout, version.String())
			return 0
		},
	}, &cli.Command{
		Name:     "completion",
		Args:     "bash|zsh|fish",
		MaxArgs:  1,
		Complete: cli.Shells,
		Summary:  "print a shell completion script",
		Help: `Prints the completion script for bash, zsh or fish, generated from the
commands and flags of this gcrcred. Load it with
  source <(gcrcred completion bash)      # bash (or save it in /etc/bash_completion.d/gcrcred)
  source <(gcrcred completion zsh)       # zsh (or save it as _gcrcred in a directory of $fpath)
  gcrcred completion fish | source       # fish (or save it in ~/.config/fish/completions/gcrcred.fish)`,
		Run: func(c *cli.Call) int {
			if len(c.Args) == 0 {
				return c.UsageError("which shell? want %s", strings.Join(cli.Shells, ", "))
			}
			if err := cli.WriteCompletion(c.Stdout, root, c.Args[0]); err != nil {
				return c.UsageError("%v", err)
			}
			return 0
		},
	})
	return root
}

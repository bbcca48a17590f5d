// Command gcrcred gives Docker and the kubelet short-lived credentials for
// Google Container Registry and Artifact Registry. This file only dispatches
// on argv; every command lives in its package.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gcrcred/gcrcred/helper"
	"github.com/gcrcred/gcrcred/internal/version"
	"github.com/gcrcred/gcrcred/provider"
)

const usage = `gcrcred: credentials for gcr.io and Artifact Registry, minted on demand

Usage:
  gcrcred configure-docker [--registries R,...] [--remove]   point Docker at gcrcred
  gcrcred token [REGISTRY]                                   print an access token
  gcrcred doctor [REGISTRY]                                  explain what credentials are used
  gcrcred kubelet-config [flags]                             print a kubelet CredentialProviderConfig
  gcrcred get-credentials                                    kubelet credential provider (stdin/stdout)
  gcrcred workload-identity setup-help                       the Google side of per-pod identity
  gcrcred minikube install|uninstall|status [-p PROFILE]     set up every node of a minikube cluster
  gcrcred kind install|uninstall|status [--name CLUSTER]     set up every node of a kind cluster
  gcrcred node install|uninstall|status [--root DIR]         set up this node's kubelet (run as root on it)
  gcrcred get|store|erase|list                               Docker credential helper protocol
  gcrcred version

As docker-credential-gcrcred it speaks the Docker credential helper protocol.
Environment: GCRCRED_CREDENTIALS, GCRCRED_REGISTRIES, GCRCRED_SCOPES,
GCRCRED_CACHE_DIR, GCRCRED_CONFIG_DIR, GCRCRED_TIMEOUT, GCRCRED_AUTH=json-key,
GCRCRED_LOG=debug, GCRCRED_WORKLOAD_IDENTITY, GCRCRED_REQUIRE_SERVICE_ACCOUNT,
GCRCRED_DIST.
`

func main() { os.Exit(run(os.Args)) }

func run(argv []string) int {
	stdin, stdout, stderr := os.Stdin, os.Stdout, os.Stderr
	if strings.HasPrefix(filepath.Base(argv[0]), "docker-credential-") {
		return helper.Serve(argv[1:], stdin, stdout, stderr)
	}
	if len(argv) < 2 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, args := argv[1], argv[2:]
	switch cmd {
	case "get", "store", "erase", "list":
		return helper.Serve(argv[1:], stdin, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, version.String())
		return 0
	case "configure-docker":
		return helper.RunConfigureDocker(args, stdout, stderr)
	case "token":
		return helper.RunToken(args, stdout, stderr)
	case "doctor":
		return helper.RunDoctor(args, stdout, stderr)
	case "get-credentials":
		return provider.RunGetCredentials(args, stdin, stdout, stderr)
	case "kubelet-config":
		return provider.RunKubeletConfig(args, stdout, stderr)
	case "workload-identity":
		return provider.RunWorkloadIdentity(args, stdout, stderr)
	case "minikube", "kind", "node":
		return runInstaller(cmd, args, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "gcrcred: unknown command %q\nRun `gcrcred --help` for usage.\n", cmd)
	return 2
}

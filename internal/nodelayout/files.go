package nodelayout

import (
	"strings"

	"github.com/gcrcred/gcrcred/internal/cli"
)

// The files gcrcred writes whole on a node start with a marker, so that a
// node that lost its record (a minikube VM's root is in RAM) still knows
// them for gcrcred's; the second one is the minikube installer's from before
// `gcrcred node` existed.
var InstalledMarkers = []string{"# Installed by \"gcrcred node install\"", "# Installed by \"gcrcred minikube install\""}

// HasMarker reports whether a file's content says gcrcred installed it.
func HasMarker(content string) bool {
	for _, m := range InstalledMarkers {
		if strings.Contains(content, m) {
			return true
		}
	}
	return false
}

// Wrapper is the sh script on PATH (Command, DockerHelper) that runs the
// plugin at binary with a per-user token cache under CacheRoot (uninstall
// removes it with every token), falling back to the binary's default where
// install made none.
func Wrapper(binary string) []byte {
	return []byte(`#!/bin/sh
` + InstalledMarkers[0] + `; removed by "gcrcred node uninstall".
if [ -z "${GCRCRED_CACHE_DIR:-}" ] && [ -d "` + CacheRoot + `/$(id -u)" ]; then
	GCRCRED_CACHE_DIR="` + CacheRoot + `/$(id -u)"
	export GCRCRED_CACHE_DIR
fi
exec ` + cli.ShellQuote(binary) + ` "$@"
`)
}

// BootDropInContent is BootDropIn: every kubelet start runs `gcrcred node
// boot` first ("-": a failure there never keeps the kubelet down).
func BootDropInContent(dockerUsers []string) []byte {
	cmd := Binary + " node boot"
	if len(dockerUsers) > 0 {
		cmd += " --docker-users " + strings.Join(dockerUsers, ",")
	}
	return []byte(InstalledMarkers[0] + ` on a minikube node: each time the kubelet
# starts, give the credentials to the docker group and point Docker at gcrcred
# again (minikube's file sync restores files as root, and VM drivers lose /root
# and /home on reboot).
[Service]
ExecStartPre=-` + cmd + `
`)
}

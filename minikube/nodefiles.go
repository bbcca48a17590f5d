package minikube

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/gcrcred/gcrcred/provider"
)

// nodeFile is one file install puts on every node and into file sync.
type nodeFile struct {
	path   string      // on the node
	mode   fs.FileMode // on the node and in file sync
	secret bool        // never world-readable, not even while copied
	group  string      // group owner on the node ("" = root)

	hostPath string // content from this host file (large or secret), or
	content  []byte // this content
}

// contentBytes reads the file's content.
func (f nodeFile) contentBytes() ([]byte, error) {
	if f.hostPath == "" {
		return f.content, nil
	}
	b, err := os.ReadFile(f.hostPath)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.hostPath, err)
	}
	return b, nil
}

func (f nodeFile) sha256() (string, error) {
	b, err := f.contentBytes()
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// wrapper is the sh script on PATH that runs the binary with a per-user
// token cache under NodeCacheRoot (uninstall removes it with every token),
// falling back to the binary's default where node-setup made none.
func wrapper() []byte {
	return []byte(`#!/bin/sh
# Installed by "gcrcred minikube install"; removed by "gcrcred minikube uninstall".
if [ -z "${GCRCRED_CACHE_DIR:-}" ] && [ -d "` + NodeCacheRoot + `/$(id -u)" ]; then
	GCRCRED_CACHE_DIR="` + NodeCacheRoot + `/$(id -u)"
	export GCRCRED_CACHE_DIR
fi
exec ` + NodeBinary + ` "$@"
`)
}

// bootDropIn makes every kubelet start run node-setup first ("-": a failure
// there never keeps the kubelet down).
func bootDropIn() []byte {
	return []byte(`# Installed by "gcrcred minikube install": each time the kubelet starts, give the
# credentials to the docker group and point Docker at gcrcred again (minikube's
# file sync restores files as root, and VM drivers lose /root and /home on reboot).
[Service]
ExecStartPre=-` + NodeBinary + ` minikube node-setup --boot
`)
}

// providerConfig is the CredentialProviderConfig, from the same code as
// `gcrcred kubelet-config`, for the node's paths.
func providerConfig(extraRegistries []string) ([]byte, error) {
	b, err := provider.KubeletConfig(provider.ConfigOptions{
		CredentialsFile: NodeCredentials,
		CacheDir:        NodeKubeletCache,
		Registries:      extraRegistries,
	})
	if err != nil {
		return nil, fmt.Errorf("rendering the kubelet credential provider config: %w", err)
	}
	return b, nil
}

// plannedFiles lists the files of one node architecture, binary first and
// the boot drop-in last.
func plannedFiles(binary, credentials string, config []byte) []nodeFile {
	return []nodeFile{
		{path: NodeBinary, mode: 0o755, hostPath: binary},
		{path: NodeCommand, mode: 0o755, content: wrapper()},
		{path: NodeDockerHelper, mode: 0o755, content: wrapper()},
		{path: NodeCredentials, mode: CredentialsModeNoGroup, secret: true, group: CredentialsGroup, hostPath: credentials},
		{path: NodeProviderConfig, mode: 0o644, content: config},
		{path: NodeBootDropIn, mode: 0o644, content: bootDropIn()},
	}
}

// nodeMode is the mode a file gets on a node: the credentials are readable
// by the docker group where there is one. File sync keeps the 0600 (it
// copies as root); node-setup widens it to the group at each kubelet start.
func (f nodeFile) nodeMode(hasGroup bool) (fs.FileMode, string) {
	if f.group != "" && hasGroup {
		return CredentialsMode, "root:" + f.group
	}
	return f.mode, "root:root"
}

// isText reports whether the content is small text that can travel inside
// the ssh command instead of through `minikube cp`.
func (f nodeFile) isText() bool {
	return f.hostPath == "" && !f.secret && len(f.content) < 16<<10 && !strings.ContainsRune(string(f.content), 0)
}

package minikube

import (
	"github.com/gcrcred/gcrcred/internal/credfile"
	"github.com/gcrcred/gcrcred/provider"
)

// Where gcrcred lives on a node. Everything but the two entries on PATH and
// the kubelet drop-in sits in a directory that belongs to gcrcred alone, so
// uninstall can remove whole directories.
const (
	// NodeBinDir is the kubelet's --image-credential-provider-bin-dir: it
	// holds only the plugin, which the kubelet runs as NodeBinDir/gcrcred.
	NodeBinDir = provider.DefaultBinDir
	NodeBinary = NodeBinDir + "/" + provider.ProviderName

	// NodeCommand and NodeDockerHelper put the binary on PATH: small sh
	// wrappers rather than symlinks, because file sync copies files, not links.
	NodeCommand      = "/usr/local/bin/gcrcred"
	NodeDockerHelper = "/usr/local/bin/docker-credential-gcrcred"

	NodeConfigDir      = "/etc/gcrcred"
	NodeCredentials    = credfile.SystemCredentials // found without any environment
	NodeProviderConfig = NodeConfigDir + "/credential-provider.yaml"

	// NodeStaging is where secrets and binaries land first: `minikube cp`
	// writes mode 0644, so the copy goes into a 0700 root directory and is
	// chmod'ed before it is renamed into place (same file system: atomic).
	NodeStaging = NodeConfigDir + "/.staging"

	// NodeStateDir holds what only the node knows: the token caches, the
	// Docker configs as they were before install, the directories install
	// created. It is in RAM on VM drivers; node-setup recreates it at boot.
	NodeStateDir   = "/var/lib/gcrcred"
	NodeCacheRoot  = NodeStateDir + "/cache"        // one 0700 directory per uid
	NodeCreatedDir = NodeStateDir + "/created-dirs" // directories install made, one a line

	// KubeletDropIn is minikube's kubelet drop-in, rewritten on every start;
	// the kubelet flags go on its effective ExecStart line.
	KubeletDropInDir = "/etc/systemd/system/kubelet.service.d"
	KubeletDropIn    = KubeletDropInDir + "/10-kubeadm.conf"
	// NodeBootDropIn is gcrcred's own drop-in: an ExecStartPre that runs
	// node-setup each time the kubelet starts, for what file sync cannot
	// carry (file ownership, the Docker configs in home directories).
	NodeBootDropIn = KubeletDropInDir + "/20-gcrcred.conf"

	// Credentials are for root and the docker group (`docker pull` as the
	// docker user runs the helper as that user), never for everyone.
	CredentialsGroup       = "docker"
	CredentialsMode        = 0o640
	CredentialsModeNoGroup = 0o600

	// The user `minikube ssh` logs in as.
	DockerUser = "docker"
)

// The kubelet flags, as minikube's extra-config keys.
const (
	FlagProviderConfig = "image-credential-provider-config"
	FlagProviderBinDir = "image-credential-provider-bin-dir"
)

// NodeKubeletCache is the token cache of root, which is what the kubelet runs as.
const NodeKubeletCache = NodeCacheRoot + "/0"

// kubeletFlags are the flags install adds, in the order it adds them.
func kubeletFlags() []flagValue {
	return []flagValue{
		{FlagProviderConfig, NodeProviderConfig},
		{FlagProviderBinDir, NodeBinDir},
	}
}

type flagValue struct{ key, value string }

func (f flagValue) String() string { return "--" + f.key + "=" + f.value }

// maybeCreatedDirs are the directories outside gcrcred's own that install
// may have to create (a Buildroot node has no /usr/local); it notes which
// ones it did, so uninstall removes exactly those. Parents come first.
var maybeCreatedDirs = []string{
	"/usr/local", "/usr/local/bin", "/usr/local/lib",
	"/etc/systemd", "/etc/systemd/system", KubeletDropInDir,
}

// ownDirs belong to gcrcred alone: uninstall removes them whole.
var ownDirs = []string{NodeConfigDir, "/usr/local/lib/gcrcred", NodeStateDir}

package node

import (
	"github.com/gcrcred/gcrcred/internal/credfile"
	"github.com/gcrcred/gcrcred/provider"
)

// Where gcrcred lives on a node it sets up itself (minikube, kubeadm, kind).
// Everything but the two entries on PATH and the minikube boot drop-in sits
// in a directory of gcrcred's own. On k3s and rke2, and on a node whose
// kubelet already has a provider config, the binary and the config go where
// that kubelet looks instead.
const (
	// BinDir is the kubelet's --image-credential-provider-bin-dir: it holds
	// only the plugin, which the kubelet runs as BinDir/gcrcred.
	BinDir = provider.DefaultBinDir
	// Binary is the plugin: the whole gcrcred binary.
	Binary = BinDir + "/" + provider.ProviderName
	// pluginName is the plugin's file name in any bin dir.
	pluginName = provider.ProviderName

	// Command and DockerHelper put the binary on PATH: small sh wrappers
	// rather than symlinks, because minikube's file sync copies files, not
	// links, and so that each user gets a token cache of their own.
	Command      = "/usr/local/bin/gcrcred"
	DockerHelper = "/usr/local/bin/docker-credential-gcrcred"

	ConfigDir      = "/etc/gcrcred"
	Credentials    = credfile.SystemCredentials // found without any environment
	ProviderConfig = ConfigDir + "/credential-provider.yaml"

	// StateDir holds what only the node knows: the token caches and the
	// install record (what install changed, and how it was before).
	StateDir   = "/var/lib/gcrcred"
	CacheRoot  = StateDir + "/cache" // one 0700 directory per uid
	RecordFile = StateDir + "/install.json"
	// KubeletCache is the token cache of root, which the kubelet runs as.
	KubeletCache = CacheRoot + "/0"

	// Credentials are root's alone; with --docker-users naming a user other
	// than root (minikube's docker user, whose `docker pull` runs the helper
	// as that user) also the docker group's; never everyone's.
	CredentialsGroup       = "docker"
	CredentialsMode        = 0o640
	CredentialsModeNoGroup = 0o600
)

// The kubelet flags, named as minikube's extra-config keys name them.
const (
	FlagProviderConfig = "image-credential-provider-config"
	FlagProviderBinDir = "image-credential-provider-bin-dir"
)

// minikube's node layout.
const (
	// MinikubeDropIn is minikube's kubelet drop-in, rewritten at every
	// start; the flags go on its ExecStart line, which reads no environment.
	MinikubeDropIn = "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"
	// BootDropIn is gcrcred's own drop-in: an ExecStartPre that runs
	// `gcrcred node boot` each time the kubelet starts, for what file sync
	// cannot carry (file ownership, the Docker configs in home directories).
	BootDropIn = "/etc/systemd/system/kubelet.service.d/20-gcrcred.conf"
	// minikubeHome marks a minikube node.
	minikubeHome = "/var/lib/minikube"
)

// MinikubeDockerUsers are the users whose Docker gets credHelpers on a
// minikube node: root (sudo docker) and the user `minikube ssh` logs in as.
var MinikubeDockerUsers = []string{"root", "docker"}

// k3s and rke2 pass these to their kubelet when both exist at start.
const (
	RancherBinDir = "/var/lib/rancher/credentialprovider/bin"
	RancherConfig = "/var/lib/rancher/credentialprovider/config.yaml"
)

// Flag is one kubelet flag with its value.
type Flag struct{ Key, Value string }

func (f Flag) String() string { return "--" + f.Key + "=" + f.Value }

// KubeletFlags are the flags install adds where it adds flags, in order.
func KubeletFlags() []Flag {
	return []Flag{{FlagProviderConfig, ProviderConfig}, {FlagProviderBinDir, BinDir}}
}

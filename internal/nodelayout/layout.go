// Package nodelayout is the node layout contract: where gcrcred's files go
// on a node and with which modes, the two kubelet flags that wire the
// provider in, and the names of the kubelet set-ups `gcrcred node install`
// knows. The provider (`kubelet-config`), the credential order, the node
// installer and the host-side installers all take them from here; nothing
// else defines them. It imports nothing of gcrcred's but the CLI's quoting.
package nodelayout

// PluginName is the provider's name in a CredentialProviderConfig, and so
// the plugin's file name in any --image-credential-provider-bin-dir.
const PluginName = "gcrcred"

// Where gcrcred lives on a node it sets up itself (minikube, kubeadm, kind).
// Everything but the two entries on PATH and the minikube boot drop-in sits
// in a directory of gcrcred's own. On k3s and rke2, and on a node whose
// kubelet already has a provider config, the binary and the config go where
// that kubelet looks instead.
const (
	// BinDir is the kubelet's --image-credential-provider-bin-dir: it holds
	// only the plugin, which the kubelet runs as BinDir/gcrcred.
	BinDir = "/usr/local/lib/gcrcred/bin"
	// Binary is the plugin: the whole gcrcred binary.
	Binary = BinDir + "/" + PluginName

	// Command and DockerHelper put the binary on PATH: small sh wrappers
	// rather than symlinks, because minikube's file sync copies files, not
	// links, and so that each user gets a token cache of their own.
	Command      = "/usr/local/bin/gcrcred"
	DockerHelper = "/usr/local/bin/docker-credential-gcrcred"

	ConfigDir = "/etc/gcrcred"
	// Credentials is the node-wide credentials file: the credential order
	// finds it without any environment (the kubelet, root, sudo docker).
	Credentials    = ConfigDir + "/credentials.json"
	ProviderConfig = ConfigDir + "/credential-provider.yaml"
	// WorkloadIdentity is the workload identity federation credential
	// configuration of per-pod identity: root's, 0644. It holds no secret
	// (the pool provider's name and Google's endpoints), and an
	// unprivileged `node status` (the DaemonSet's readiness probe) checks it.
	WorkloadIdentity     = ConfigDir + "/workload-identity.json"
	WorkloadIdentityMode = 0o644

	// StateDir holds what only the node knows: the token caches and the
	// install's records.
	StateDir  = "/var/lib/gcrcred"
	CacheRoot = StateDir + "/cache" // one 0700 directory per uid
	// KubeletCache is the token cache of root, which the kubelet runs as.
	KubeletCache = CacheRoot + "/0"
	// RecordFile is what install changed and how it was before (0600: it
	// may hold a file's earlier content).
	RecordFile = StateDir + "/install.json"
	// BackupDir (0700) keeps, each in a 0600 file named by its sha256,
	// the earlier content of a file install replaced that is too large
	// for the record or not text (a program at the plugin's path): the
	// record names the file, and uninstall puts it back and removes it.
	BackupDir = StateDir + "/backup"
	// InstalledFile says which plugin install put where, and the set-up it
	// found (0644, no secret: what an unprivileged status checks against).
	InstalledFile     = StateDir + "/installed.json"
	InstalledFileMode = 0o644
	// DockerStateFile is how each Docker config was before gcrcred pointed
	// it at itself (0600: it may hold the user's logins).
	DockerStateFile = StateDir + "/docker-configs.json"

	// Credentials are root's alone; with --docker-users naming a user other
	// than root (minikube's docker user, whose `docker pull` runs the helper
	// as that user) also the docker group's; never everyone's.
	CredentialsGroup       = "docker"
	CredentialsMode        = 0o640
	CredentialsModeNoGroup = 0o600
)

// The kubelet flags, named as the kubelet and minikube's extra-config keys
// name them.
const (
	FlagProviderConfig = "image-credential-provider-config"
	FlagProviderBinDir = "image-credential-provider-bin-dir"
)

// Flag is one kubelet flag with its value.
type Flag struct{ Key, Value string }

func (f Flag) String() string { return "--" + f.Key + "=" + f.Value }

// ProviderFlags are the two flags for a provider config and a bin dir.
func ProviderFlags(config, binDir string) []Flag {
	return []Flag{{FlagProviderConfig, config}, {FlagProviderBinDir, binDir}}
}

// KubeletFlags are the flags install adds where it adds flags, in order.
func KubeletFlags() []Flag { return ProviderFlags(ProviderConfig, BinDir) }

// The kubelet set-ups gcrcred knows, by the names install prints and its
// record keeps.
const (
	FlavourMinikube       = "minikube"
	FlavourKubeadm        = "kubeadm"
	FlavourKind           = "kind"
	FlavourK3s            = "k3s"
	FlavourRKE2           = "rke2"
	FlavourProviderConfig = "provider-config"
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
	// MinikubeHome marks a minikube node.
	MinikubeHome = "/var/lib/minikube"
)

// MinikubeDockerUsers are the users whose Docker gets credHelpers on a
// minikube node: root (sudo docker) and the user `minikube ssh` logs in as.
var MinikubeDockerUsers = []string{"root", "docker"}

// k3s and rke2 pass these to their kubelet when both exist at start.
const (
	RancherBinDir = "/var/lib/rancher/credentialprovider/bin"
	RancherConfig = "/var/lib/rancher/credentialprovider/config.yaml"
)

// CredentialsForGroup reports whether the credentials are the docker
// group's too (CredentialsMode): a Docker user besides root, whose
// docker-credential-gcrcred runs as that user, must read them.
func CredentialsForGroup(dockerUsers []string) bool {
	for _, u := range dockerUsers {
		if u != "root" {
			return true
		}
	}
	return false
}

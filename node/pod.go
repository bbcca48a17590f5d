package node

import (
	"errors"
	"flag"
	"fmt"

	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/internal/podidentity"
	"github.com/gcrcred/gcrcred/internal/providerconfig"
	"github.com/gcrcred/gcrcred/internal/smallfile"
	"github.com/gcrcred/gcrcred/provider"
)

// Per-pod identity (kubelet service-account tokens, KEP-4412): the kubelet
// asks the API server for a token of each pod's service account with
// gcrcred's audience and hands it to the plugin, which exchanges it with
// the workload identity configuration installed at WorkloadIdentity. The
// node key is then optional: the provider config names none, and the
// plugin finds Credentials by the credential order when the node has one,
// so the config is the same with or without a key.

// WorkloadIdentity is where install puts the workload identity federation
// credential configuration: root's, 0644. It holds no secret (the pool
// provider's name and Google's endpoints), and an unprivileged `node
// status` (the DaemonSet's readiness probe) checks it.
const (
	WorkloadIdentity     = provider.DefaultWorkloadIdentityPath
	WorkloadIdentityMode = 0o644
)

// PodIdentityTitle heads the per-pod flags in every installer's help.
const PodIdentityTitle = `Per-pod identity (kubelet 1.35+, or 1.34 with the KubeletEnsureSecretPulledImages
feature gate): pods pull as their own Google identity, exchanging their service-account
token, one service account at a time. With these flags --credentials is optional:
pods that pull with the node's credentials get them only if the node has some. A
rerun without them turns per-pod identity off. ` + "`gcrcred workload-identity setup-help`" + `
shows the Google side.`

// PodIdentity is per-pod identity as the installers take it.
type PodIdentity struct {
	File     string // the credential configuration, a file of the caller's
	Audience string
	Require  bool
	Mode     string // podidentity.ModeAnnotated or ModeAll; "": ModeAnnotated
	Mapping  string // google.subject mapping; "": the default
	// AllowSharedImageCache installs on a kubelet that does not keep
	// images apart between service accounts.
	AllowSharedImageCache bool
}

// AddFlags adds --workload-identity, --service-account-audience,
// --require-service-account, --pod-identity, --subject-mapping and
// --allow-shared-image-cache.
func (p *PodIdentity) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&p.File, "workload-identity", "", "workload identity federation credential configuration `FILE` (what `gcloud iam workload-identity-pools create-cred-config` writes), installed as "+WorkloadIdentity)
	fs.StringVar(&p.Audience, "service-account-audience", "", "the `AUDIENCE` of the service-account tokens the kubelet asks for")
	fs.StringVar(&p.Mode, "pod-identity", "", "per-pod identity `MODE`: annotated (the default: a service account annotated iam.gke.io/gcp-service-account=GSA pulls as GSA, one annotated iam.gke.io/enable-wi-image-pull=true as its own principal, any other with the node's credentials) or all (every one as itself)")
	fs.StringVar(&p.Mapping, "subject-mapping", "", "the pool provider's google.subject mapping, an `EXPRESSION` (default assertion.sub): subjects over Google's 127 bytes are refused")
	fs.BoolVar(&p.Require, "require-service-account", false, "pods that would get the node's credentials get none")
	fs.BoolVar(&p.AllowSharedImageCache, "allow-shared-image-cache", false, "install on a kubelet that lets any pod run an image another service account pulled to the node (before 1.35 without the gate), which install otherwise refuses")
}

// On reports whether per-pod identity was asked for.
func (p PodIdentity) On() bool {
	return p.File != "" || p.Audience != "" || p.Require || p.Mode != "" || p.Mapping != "" || p.AllowSharedImageCache
}

// mode is the mode in effect.
func (p PodIdentity) mode() string {
	m, _ := podidentity.ParseMode(p.Mode) // checked by CheckFlags
	return m
}

// CheckFlags says what is wrong with the flags as given together (a usage
// error); it reads no file.
func (p PodIdentity) CheckFlags() error {
	if !p.On() {
		return nil
	}
	if p.File == "" || p.Audience == "" {
		return errors.New("--workload-identity and --service-account-audience go together (--require-service-account, --pod-identity, --subject-mapping and --allow-shared-image-cache need both)")
	}
	if err := provider.CheckServiceAccountAudience(p.Audience); err != nil {
		return fmt.Errorf("--service-account-audience: %v", err)
	}
	if _, err := podidentity.ParseMode(p.Mode); err != nil {
		return fmt.Errorf("--pod-identity: %v", err)
	}
	if _, err := podidentity.ParseSubjectMapping(p.Mapping); err != nil {
		return fmt.Errorf("--subject-mapping: %v", err)
	}
	return nil
}

// Read reads the credential configuration and checks it as get-credentials
// will read it on the node.
func (p PodIdentity) Read() ([]byte, error) {
	b, err := smallfile.Read(p.File, podidentity.MaxConfigBytes, "workload identity configuration")
	if err != nil {
		return nil, fmt.Errorf("reading --workload-identity: %v (`gcrcred workload-identity setup-help` shows how to create it)", err)
	}
	if err := providerconfig.CheckWorkloadIdentityConfig(b, p.File); err != nil {
		return nil, fmt.Errorf("--workload-identity: %v", err)
	}
	return b, nil
}

// Warnings are what is likely a mistake in the flags with the file's
// content data (provider.PodIdentityWarnings).
func (p PodIdentity) Warnings(data []byte) []string {
	return provider.PodIdentityWarnings(provider.ConfigOptions{ServiceAccountAudience: p.Audience,
		WorkloadIdentityFile: p.File, WorkloadIdentityConfig: data, PodIdentityMode: p.Mode})
}

// Args are `gcrcred node install`'s per-pod flags, with the configuration
// at nodeFile (where the caller staged it on the node).
func (p PodIdentity) Args(nodeFile string) []string {
	if !p.On() {
		return nil
	}
	args := []string{"--workload-identity", nodeFile, "--service-account-audience", p.Audience, "--pod-identity", p.mode()}
	if p.Mapping != "" {
		args = append(args, "--subject-mapping", p.Mapping)
	}
	if p.Require {
		args = append(args, "--require-service-account")
	}
	if p.AllowSharedImageCache {
		args = append(args, "--allow-shared-image-cache")
	}
	return args
}

// Describe is one line about per-pod identity, for plans and summaries.
func (p PodIdentity) Describe() string {
	who := "service accounts annotated " + podidentity.AnnotationKey + " or " + podidentity.EnableAnnotationKey + "=true pull as their own Google identity"
	without := "the others, and pods without a token, get the node's credentials, if it has any"
	if p.mode() == podidentity.ModeAll {
		who, without = "every pod with a service-account token pulls as its own Google identity", "pods without one get the node's credentials, if it has any"
	}
	if p.Require {
		without = "any other pod gets none (--require-service-account)"
	}
	return fmt.Sprintf("per-pod identity (--pod-identity %s): %s (tokens for audience %q, exchanged with %s); %s", p.mode(), who, p.Audience, WorkloadIdentity, without)
}

// minTokenKubelet is the first kubelet minor version that passes
// service-account tokens to providers by default (beta in 1.34; alpha and
// behind a feature gate in 1.33).
const minTokenKubelet = 34

// podIdentityKubelet says why the node's kubelet cannot pass tokens, if
// its version says so; a note for 1.33, where a feature gate may.
func podIdentityKubelet(r *noderoot.Root, s *setup) (problem, note string) {
	v, from, _ := kubeletVersion(r, s)
	minor, ok := minorOf(v)
	switch {
	case !ok:
		return "", ""
	case minor < minTokenKubelet-1:
		return fmt.Sprintf("per-pod identity needs kubelet 1.%d or newer, and this node's is %s (%s): it never passes service-account tokens to providers; upgrade the cluster, or install without --workload-identity", minTokenKubelet, v, from), ""
	case minor < minTokenKubelet:
		return "", fmt.Sprintf("this node's kubelet is %s (%s): it passes service-account tokens only with the KubeletServiceAccountTokenForCredentialProviders feature gate on, and otherwise refuses the config (install then puts everything back)", v, from)
	}
	return "", ""
}

// imageCacheProblem is why install refuses per-pod identity on this node
// (a kubelet that lets pods run images other service accounts pulled), or
// a note: under --allow-shared-image-cache what was accepted, otherwise
// how gcrcred knows the kubelet keeps images apart.
func (p PodIdentity) imageCacheProblem(r *noderoot.Root, s *setup) (problem, note string) {
	why, prevents := sharedImageCache(r, s)
	switch {
	case why == "":
		return "", prevents
	case p.AllowSharedImageCache:
		return "", "--allow-shared-image-cache: " + why
	}
	return "per-pod identity keeps images apart only if the kubelet does: " + why + "; or accept it with --allow-shared-image-cache", ""
}

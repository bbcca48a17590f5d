// Package podinstall is per-pod identity as the installers take it
// (`node install`, `minikube install`, `kind install`): the flags, their
// checks, the configuration file read and checked as get-credentials will
// read it on the node, what goes into the node's provider config, and the
// arguments that pass it on to `gcrcred node install`.
package podinstall

import (
	"errors"
	"flag"
	"fmt"

	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/internal/podidentity"
	"github.com/gcrcred/gcrcred/internal/providerconfig"
	"github.com/gcrcred/gcrcred/internal/smallfile"
)

// Per-pod identity (kubelet service-account tokens, KEP-4412): the kubelet
// asks the API server for a token of each pod's service account with
// gcrcred's audience and hands it to the plugin, which exchanges it with
// the workload identity configuration installed at
// nodelayout.WorkloadIdentity. The node key is then optional: the provider
// config names none, and the plugin finds the node's credentials by the
// credential order when the node has one, so the config is the same with
// or without a key.

// Title heads the per-pod flags in every installer's help.
const Title = `Per-pod identity (kubelet 1.35+, or 1.34 with the KubeletEnsureSecretPulledImages
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
	fs.StringVar(&p.File, "workload-identity", "", "workload identity federation credential configuration `FILE` (what `gcloud iam workload-identity-pools create-cred-config` writes), installed as "+nodelayout.WorkloadIdentity)
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

// ModeName is the mode in effect.
func (p PodIdentity) ModeName() string {
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
	if err := providerconfig.CheckServiceAccountAudience(p.Audience); err != nil {
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
// content data (providerconfig.PodIdentityWarnings).
func (p PodIdentity) Warnings(data []byte) []string {
	return providerconfig.PodIdentityWarnings(providerconfig.Options{ServiceAccountAudience: p.Audience,
		WorkloadIdentityFile: p.File, WorkloadIdentityConfig: data, PodIdentityMode: p.Mode})
}

// Args are `gcrcred node install`'s per-pod flags, with the configuration
// at nodeFile (where the caller staged it on the node).
func (p PodIdentity) Args(nodeFile string) []string {
	if !p.On() {
		return nil
	}
	args := []string{"--workload-identity", nodeFile, "--service-account-audience", p.Audience, "--pod-identity", p.ModeName()}
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
	if p.ModeName() == podidentity.ModeAll {
		who, without = "every pod with a service-account token pulls as its own Google identity", "pods without one get the node's credentials, if it has any"
	}
	if p.Require {
		without = "any other pod gets none (--require-service-account)"
	}
	return fmt.Sprintf("per-pod identity (--pod-identity %s): %s (tokens for audience %q, exchanged with %s); %s", p.ModeName(), who, p.Audience, nodelayout.WorkloadIdentity, without)
}

// NodePod is p in a node's provider config, with the configuration's
// content data (nil: not checked); nil when p is off.
func (p PodIdentity) NodePod(data []byte) *providerconfig.NodePod {
	if !p.On() {
		return nil
	}
	return &providerconfig.NodePod{Audience: p.Audience, Mode: p.ModeName(), Mapping: p.Mapping, Require: p.Require, Config: data}
}

package node

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/internal/podidentity"
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
const PodIdentityTitle = `Per-pod identity (kubelet 1.34+): each pod pulls as its own Google identity,
exchanging its service-account token; no key on the nodes is needed. With
these flags --credentials is optional: pods without a token (static pods)
get the node's credentials only if the node has some. A rerun without them
turns per-pod identity off. ` + "`gcrcred workload-identity setup-help`" + ` shows the
Google side.`

// PodIdentity is per-pod identity as the installers take it.
type PodIdentity struct {
	File     string // the credential configuration, a file of the caller's
	Audience string
	Require  bool
}

// AddFlags adds --workload-identity, --service-account-audience and
// --require-service-account.
func (p *PodIdentity) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&p.File, "workload-identity", "", "workload identity federation credential configuration `FILE` (what `gcloud iam workload-identity-pools create-cred-config` writes), installed as "+WorkloadIdentity)
	fs.StringVar(&p.Audience, "service-account-audience", "", "the `AUDIENCE` of the service-account tokens the kubelet asks for")
	fs.BoolVar(&p.Require, "require-service-account", false, "pods without a service-account token get no credentials, not the node's")
}

// On reports whether per-pod identity was asked for.
func (p PodIdentity) On() bool { return p.File != "" || p.Audience != "" || p.Require }

// CheckFlags says what is wrong with the flags as given together (a usage
// error); it reads no file.
func (p PodIdentity) CheckFlags() error {
	if !p.On() {
		return nil
	}
	if p.File == "" || p.Audience == "" {
		return errors.New("--workload-identity and --service-account-audience go together (--require-service-account needs both)")
	}
	if err := provider.CheckServiceAccountAudience(p.Audience); err != nil {
		return fmt.Errorf("--service-account-audience: %v", err)
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
	if err := provider.CheckWorkloadIdentityConfig(b, p.File); err != nil {
		return nil, fmt.Errorf("--workload-identity: %v", err)
	}
	return b, nil
}

// Args are `gcrcred node install`'s per-pod flags, with the configuration
// at nodeFile (where the caller staged it on the node).
func (p PodIdentity) Args(nodeFile string) []string {
	if !p.On() {
		return nil
	}
	args := []string{"--workload-identity", nodeFile, "--service-account-audience", p.Audience}
	if p.Require {
		args = append(args, "--require-service-account")
	}
	return args
}

// Describe is one line about per-pod identity, for plans and summaries.
func (p PodIdentity) Describe() string {
	without := "get the node's credentials, if it has any"
	if p.Require {
		without = "get none (--require-service-account)"
	}
	return fmt.Sprintf("per-pod identity: pods pull as their own Google identity (service-account tokens for audience %q, exchanged with %s); pods without a token %s", p.Audience, WorkloadIdentity, without)
}

// minTokenKubelet is the first kubelet minor version that passes
// service-account tokens to providers by default (beta in 1.34; alpha and
// behind a feature gate in 1.33).
const minTokenKubelet = 34

// kubeletVersion is the node's kubelet version where the node says it
// (kind's /kind/version, minikube's binaries directory), "" otherwise.
func kubeletVersion(r *noderoot.Root, s *setup) (version, from string) {
	if s.flavour == FlavourKind {
		if c, err := readNodeFile(r, "/kind/version"); err == nil {
			return strings.TrimSpace(c), "/kind/version"
		}
	}
	if s.flavour == FlavourMinikube {
		c, _ := readNodeFile(r, MinikubeDropIn)
		if es, ok := effectiveExecStart(c); ok {
			if args := splitCommand(es.value); len(args) > 0 {
				if v, ok := strings.CutPrefix(args[0], minikubeHome+"/binaries/"); ok {
					return strings.TrimSuffix(v, "/kubelet"), MinikubeDropIn
				}
			}
		}
	}
	return "", ""
}

// podIdentityKubelet says why the node's kubelet cannot pass tokens, if
// its version says so; a note for 1.33, where a feature gate may.
func podIdentityKubelet(r *noderoot.Root, s *setup) (problem, note string) {
	v, from := kubeletVersion(r, s)
	// "v1.34.1" or "1.34.1": the minor version.
	rest, ok := strings.CutPrefix(strings.TrimPrefix(v, "v"), "1.")
	minorText, _, dotted := strings.Cut(rest, ".")
	minor, err := strconv.Atoi(minorText)
	if !ok || !dotted || err != nil || minor < 0 {
		return "", ""
	}
	switch {
	case minor < minTokenKubelet-1:
		return fmt.Sprintf("per-pod identity needs kubelet 1.%d or newer, and this node's is %s (%s): it never passes service-account tokens to providers; upgrade the cluster, or install without --workload-identity", minTokenKubelet, v, from), ""
	case minor < minTokenKubelet:
		return "", fmt.Sprintf("this node's kubelet is %s (%s): it passes service-account tokens only with the KubeletServiceAccountTokenForCredentialProviders feature gate on, and otherwise refuses the config (install then puts everything back)", v, from)
	}
	return "", ""
}

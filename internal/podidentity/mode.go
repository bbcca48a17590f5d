package podidentity

import (
	"fmt"

	"github.com/gcrcred/gcrcred/internal/cli"
)

// A cluster adopts per-pod identity one team at a time: in the default
// mode only service accounts that ask for it pull as themselves, the way
// GKE's own provider does (cloud-provider-gcp #1202), and every other pod
// keeps the node's credentials. Turning it on then breaks no namespace
// whose principal has no grant yet, kube-system included.

// Modes of per-pod identity, in GCRCRED_POD_IDENTITY.
const (
	EnvMode = "GCRCRED_POD_IDENTITY"
	// ModeAnnotated: a service account annotated AnnotationKey pulls as
	// that Google service account, one annotated EnableAnnotationKey
	// "true" as its own principal, any other with the node's credentials.
	ModeAnnotated = "annotated"
	// ModeAll: every service account pulls as itself: as the Google
	// service account its annotation (else the configuration's
	// service_account_impersonation_url) names, else as its principal.
	ModeAll = "all"
	// DefaultMode is the mode when none is set.
	DefaultMode = ModeAnnotated

	// EnableAnnotationKey: "true" on a service account opts it in to
	// pulling as its own principal (GKE's key for the same idea).
	EnableAnnotationKey = "iam.gke.io/enable-wi-image-pull"
)

// RBACName names the ClusterRole and ClusterRoleBinding that let kubelets
// (group system:nodes) request service-account tokens for gcrcred's
// audience: one name for deploy/workload-identity, the installers and
// setup-help, so that each finds what another applied.
const RBACName = "gcrcred-service-account-audience"

// AnnotationKeys are the annotations the kubelet must pass the plugin.
var AnnotationKeys = []string{AnnotationKey, EnableAnnotationKey}

// ParseMode checks a mode; "" is DefaultMode.
func ParseMode(s string) (string, error) {
	switch s {
	case "":
		return DefaultMode, nil
	case ModeAnnotated, ModeAll:
		return s, nil
	}
	return "", fmt.Errorf("per-pod identity mode %q is neither %s nor %s", cli.Clip(s, 40), ModeAnnotated, ModeAll)
}

// Pull is how one pod pulls.
type Pull struct {
	// Node: with the node's credentials (annotated mode, no annotation).
	Node bool
	// Email is the Google service account to impersonate, named by From;
	// "" (and not Node): the pod's own principal.
	Email, From string
}

// Pull decides how the request's pod pulls, from its mode and annotations.
// An annotation is checked before any cache or lock file exists: whoever
// may annotate a service account must not be able to grow the node's cache
// with names Google would refuse anyway.
func (r *Request) Pull() (Pull, error) {
	mode, err := ParseMode(r.Mode)
	if err != nil {
		return Pull{}, err
	}
	if gsa := r.Annotations[AnnotationKey]; gsa != "" {
		if err := CheckAnnotatedServiceAccount(gsa); err != nil {
			return Pull{}, fmt.Errorf("service account %s: its %s annotation: %v", r.Claims, AnnotationKey, err)
		}
		return Pull{Email: gsa, From: "its " + AnnotationKey + " annotation"}, nil
	}
	if mode == ModeAll {
		if d := r.Config.DefaultServiceAccount(); d != "" {
			return Pull{Email: d, From: "the default of " + r.Config.Path + " (service_account_impersonation_url)"}, nil
		}
		return Pull{}, nil
	}
	switch v := r.Annotations[EnableAnnotationKey]; v {
	case "true":
		return Pull{}, nil
	case "", "false":
		return Pull{Node: true}, nil
	default:
		return Pull{}, fmt.Errorf("service account %s: its %s annotation is %q: set it to \"true\" to pull as its own principal, or remove it", r.Claims, EnableAnnotationKey, cli.Clip(v, 40))
	}
}

package fakecluster

import (
	"testing"

	"github.com/gcrcred/gcrcred/test/fakegoogle"
)

// PodIdentity is per-pod identity for installer tests: a workload identity
// pool provider on the fake Google that trusts a test service-account
// issuer, its credential configuration, and the issuer's key, with which
// kubelet-lookup signs the kubelet's token requests as an API server would.
type PodIdentity struct {
	Audience string // the pool provider's name, used as the token audience
	File     string // the credential configuration, a host file
	Pool     string
	issuer   *fakegoogle.TokenIssuer
}

// NewPodIdentity registers the pool provider on g and writes its
// credential configuration.
func NewPodIdentity(t testing.TB, g *fakegoogle.Google) *PodIdentity {
	t.Helper()
	iss, err := fakegoogle.NewTokenIssuer("https://kubernetes.default.svc.cluster.local")
	if err != nil {
		t.Fatal(err)
	}
	p := &PodIdentity{Pool: "k8s", issuer: iss}
	if p.Audience, err = g.AddOIDCProvider(fakegoogle.OIDCProvider{Pool: p.Pool, Provider: "cluster", Issuer: iss.URL, JWKS: iss.JWKS()}); err != nil {
		t.Fatal(err)
	}
	if p.File, err = g.WriteWorkloadIdentityConfig(t.TempDir(), "workload-identity", p.Audience, ""); err != nil {
		t.Fatal(err)
	}
	return p
}

// Flags are the installers' per-pod flags.
func (p *PodIdentity) Flags(extra ...string) []string {
	return append([]string{"--workload-identity", p.File, "--service-account-audience", p.Audience}, extra...)
}

// LookupArgs are kubelet-lookup's flags for a pod of the service account
// NS/NAME on node n (the signing key put there), opted in to pulling as its
// own principal (annotated iam.gke.io/enable-wi-image-pull=true, what the
// default --pod-identity annotated asks).
func (p *PodIdentity) LookupArgs(n *Node, serviceAccount string) []string {
	key := n.Put("sa-signing-key.pem", p.issuer.KeyPEM())
	return []string{"-sa", serviceAccount + ",annotation=iam.gke.io/enable-wi-image-pull=true", "-sa-issuer", p.issuer.URL, "-sa-key", key}
}

// Principal is the pool principal of the service account NS/NAME.
func (p *PodIdentity) Principal(namespace, name string) string {
	return fakegoogle.KubernetesPrincipal(p.Pool, namespace, name)
}

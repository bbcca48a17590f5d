package cluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// The node's certificates, keys and kubeconfigs, where kubeadm puts them.
const (
	pkiDir       = "/etc/kubernetes/pki"
	adminConf    = "/etc/kubernetes/admin.conf"
	kubeletConf  = "/etc/kubernetes/kubelet.conf"
	cmConf       = "/etc/kubernetes/controller-manager.conf"
	schedConf    = "/etc/kubernetes/scheduler.conf"
	caCertFile   = pkiDir + "/ca.crt"
	saKeyFile    = pkiDir + "/sa.key"
	saPubFile    = pkiDir + "/sa.pub"
	certValidity = 24 * time.Hour
)

// authority is the cluster's one CA: it signs every serving and client
// certificate (the API server trusts it for client certificates too).
type authority struct {
	cert *x509.Certificate
	key  crypto.Signer
	pem  []byte
}

func newKey() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

func newAuthority() (*authority, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "gcrcred-e2e-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &authority{cert: cert, key: key, pem: pemBlock("CERTIFICATE", der)}, nil
}

// certSpec says what a certificate is for: a client (CN = user, O = groups)
// or a server (names and addresses).
type certSpec struct {
	cn     string
	orgs   []string
	server bool
	dns    []string
	ips    []net.IP
}

// issue signs a new key for spec and returns the certificate and key as PEM.
func (a *authority) issue(spec certSpec) (certPEM, keyPEM []byte, err error) {
	key, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: spec.cn, Organization: spec.orgs},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		DNSNames:     spec.dns,
		IPAddresses:  spec.ips,
	}
	if spec.server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, key.Public(), a.key)
	if err != nil {
		return nil, nil, fmt.Errorf("certificate for %s: %w", spec.cn, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pemBlock("CERTIFICATE", der), pemBlock("PRIVATE KEY", keyDER), nil
}

// writePKI writes the CA, the API server's certificates, the service-account
// signing key and the kubeconfigs of the admin, the controller manager, the
// scheduler and the kubelet (CN system:node:NAME, O system:nodes: what the
// Node authorizer and NodeRestriction need).
func writePKI(nodeName string, nodeIP net.IP) error {
	ca, err := newAuthority()
	if err != nil {
		return err
	}
	if err := writeFile(caCertFile, ca.pem, 0o644); err != nil {
		return err
	}
	caKeyDER, err := x509.MarshalPKCS8PrivateKey(ca.key)
	if err != nil {
		return err
	}
	if err := writeFile(pkiDir+"/ca.key", pemBlock("PRIVATE KEY", caKeyDER), 0o600); err != nil {
		return err
	}
	serving := certSpec{
		cn:     "kube-apiserver",
		server: true,
		dns: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local", nodeName},
		ips: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(serviceIP), nodeIP},
	}
	certs := []struct {
		name string
		spec certSpec
	}{
		{"apiserver", serving},
		{"apiserver-kubelet-client", certSpec{cn: "kube-apiserver-kubelet-client", orgs: []string{"system:masters"}}},
	}
	for _, c := range certs {
		certPEM, keyPEM, err := ca.issue(c.spec)
		if err != nil {
			return err
		}
		if err := writeFile(pkiDir+"/"+c.name+".crt", certPEM, 0o644); err != nil {
			return err
		}
		if err := writeFile(pkiDir+"/"+c.name+".key", keyPEM, 0o600); err != nil {
			return err
		}
	}
	// The service-account issuer signs RS256 tokens; a verifier reads the
	// public half from the API server's JWKS.
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	saDER, err := x509.MarshalPKCS8PrivateKey(saKey)
	if err != nil {
		return err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(saKey.Public())
	if err != nil {
		return err
	}
	if err := writeFile(saKeyFile, pemBlock("PRIVATE KEY", saDER), 0o600); err != nil {
		return err
	}
	if err := writeFile(saPubFile, pemBlock("PUBLIC KEY", pubDER), 0o644); err != nil {
		return err
	}
	users := []struct {
		path string
		spec certSpec
	}{
		{adminConf, certSpec{cn: "kubernetes-admin", orgs: []string{"system:masters"}}},
		{cmConf, certSpec{cn: "system:kube-controller-manager"}},
		{schedConf, certSpec{cn: "system:kube-scheduler"}},
		{kubeletConf, certSpec{cn: "system:node:" + nodeName, orgs: []string{"system:nodes"}}},
	}
	for _, u := range users {
		certPEM, keyPEM, err := ca.issue(u.spec)
		if err != nil {
			return err
		}
		if err := writeFile(u.path, kubeconfig(apiServerURL, ca.pem, certPEM, keyPEM, u.spec.cn), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// kubeconfig is a kubeconfig file with everything embedded.
func kubeconfig(server string, caPEM, certPEM, keyPEM []byte, user string) []byte {
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: %q
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: e2e
  context:
    cluster: e2e
    user: %q
current-context: e2e
`, server, b64(caPEM), user, b64(certPEM), b64(keyPEM), user)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// writeFile writes data to path, creating its directory.
func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		return err
	}
	return os.Chmod(path, mode)
}

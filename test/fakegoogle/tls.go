package fakegoogle

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// DefaultTLSHosts are the names StartTLS certifies when given none: the
// Google hosts that tools hard-code for the endpoints this fake serves.
var DefaultTLSHosts = []string{
	"oauth2.googleapis.com",
	"www.googleapis.com",
	"sts.googleapis.com",
	"iamcredentials.googleapis.com",
}

// StartTLS starts an additional HTTPS listener on 127.0.0.1 that serves the
// same endpoints, with a certificate for hosts (DefaultTLSHosts if none) and
// 127.0.0.1, issued by a CA made for this call. It writes the CA certificate
// as PEM to a temporary file (for SSL_CERT_FILE) that Close removes, and
// returns that file and the listener's "127.0.0.1:PORT".
//
// A client reaches it under a Google host name through StartConnectProxy.
func (g *Google) StartTLS(hosts ...string) (caPEMPath string, addr string, err error) {
	if len(hosts) == 0 {
		hosts = DefaultTLSHosts
	}
	caPEM, cert, err := newCertificate(hosts)
	if err != nil {
		return "", "", fmt.Errorf("fakegoogle: certificate: %w", err)
	}
	f, err := os.CreateTemp("", "fakegoogle-ca-*.pem")
	if err != nil {
		return "", "", err
	}
	caPEMPath = f.Name()
	_, werr := f.Write(caPEM)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(caPEMPath)
		return "", "", werr
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Remove(caPEMPath)
		return "", "", err
	}
	srv := newServer(g)
	go srv.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}}))

	g.mu.Lock()
	select {
	case <-g.closed:
		g.mu.Unlock()
		srv.Close()
		os.Remove(caPEMPath)
		return "", "", errors.New("fakegoogle: closed")
	default:
	}
	g.extra = append(g.extra, func() { srv.Close(); os.Remove(caPEMPath) })
	g.mu.Unlock()
	return caPEMPath, ln.Addr().String(), nil
}

// NewCertificate is newCertificate for a test's own TLS listener (a
// foreign host that must look real to a client trusting caPEM).
func NewCertificate(hosts ...string) (caPEM []byte, cert tls.Certificate, err error) {
	return newCertificate(hosts)
}

// newCertificate makes a CA and a server certificate for hosts and 127.0.0.1
// signed by it. It returns the CA as PEM and the server's key pair.
func newCertificate(hosts []string) (caPEM []byte, cert tls.Certificate, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, cert, err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "fakegoogle test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, cert, err
	}
	ca, err = x509.ParseCertificate(caDER)
	if err != nil {
		return nil, cert, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, cert, err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: hosts[0]},
		DNSNames:     hosts,
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, cert, err
	}
	cert = tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: key}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), cert, nil
}

// StartConnectProxy starts an HTTP CONNECT proxy on 127.0.0.1 that tunnels
// every CONNECT, whatever host it names, to target (a loopback "host:port",
// such as StartTLS's addr). It never dials anything else. With
// HTTPS_PROXY=proxyURL and SSL_CERT_FILE=StartTLS's CA file, a tool that
// hard-codes https://oauth2.googleapis.com/token talks to the fake.
// closeFn stops the proxy and cuts open tunnels.
func StartConnectProxy(target string) (proxyURL string, closeFn func(), err error) {
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		return "", nil, fmt.Errorf("fakegoogle: proxy target %q: %w", target, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return "", nil, fmt.Errorf("fakegoogle: proxy target %q is not a loopback address", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	p := &connectProxy{target: target, conns: map[net.Conn]bool{}}
	p.srv = newServer(p)
	go p.srv.Serve(ln)
	return "http://" + ln.Addr().String(), p.close, nil
}

type connectProxy struct {
	target string
	srv    *http.Server

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]bool // open tunnel ends, cut by close
}

func (p *connectProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "fakegoogle proxy: CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		http.Error(w, "fakegoogle proxy: cannot reach the fake", http.StatusBadGateway)
		return
	}
	down, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		return
	}
	if !p.track(up, down) {
		return
	}
	defer p.untrack(up, down)
	if _, err := io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, rw.Reader); done <- struct{}{} }() // rw.Reader holds bytes read ahead
	go func() { io.Copy(down, up); done <- struct{}{} }()
	<-done // either side ended: tear the tunnel down
}

// track registers the two ends of a tunnel; it closes them and reports false
// if the proxy is already closed.
func (p *connectProxy) track(a, b net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		a.Close()
		b.Close()
		return false
	}
	p.conns[a], p.conns[b] = true, true
	return true
}

func (p *connectProxy) untrack(a, b net.Conn) {
	p.mu.Lock()
	delete(p.conns, a)
	delete(p.conns, b)
	p.mu.Unlock()
	a.Close()
	b.Close()
}

func (p *connectProxy) close() {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.conns = map[net.Conn]bool{}
	p.mu.Unlock()
	p.srv.Close()
	for c := range conns {
		c.Close()
	}
}

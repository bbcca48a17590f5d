package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	apiServerURL = "https://127.0.0.1:6443"
	etcdURL      = "http://127.0.0.1:2379"
	serviceCIDR  = "10.96.0.0/12"
	serviceIP    = "10.96.0.1" // the first address of serviceCIDR, the "kubernetes" service
	// ServiceAccountIssuer is the iss of the cluster's service-account tokens:
	// the API server itself, so that /.well-known/openid-configuration and
	// /openid/v1/jwks (the keys a verifier such as a fake STS needs) are
	// served at the issuer URL.
	ServiceAccountIssuer = apiServerURL
)

// controlPlane is etcd and the three control-plane components, run directly
// (a kubeadm node runs them as static pods; here the node's first pod would
// need them to exist already).
type controlPlane struct {
	procs []*proc // in start order
}

func (c *Cluster) startControlPlane(ctx context.Context) error {
	cp := &controlPlane{}
	c.cp = cp
	bin := func(name string) string { return filepath.Join(c.cfg.Bin.K8s, name) }
	start := func(name string, args ...string) (*proc, error) {
		p, err := startProc(name, append([]string{bin(name)}, args...), nodeEnv(), c.logPath(name))
		if err == nil {
			cp.procs = append(cp.procs, p)
		}
		return p, err
	}

	etcd, err := start("etcd",
		"--name=e2e", "--data-dir=/var/lib/etcd",
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls=http://127.0.0.1:2380", "--initial-advertise-peer-urls=http://127.0.0.1:2380",
		"--initial-cluster=e2e=http://127.0.0.1:2380",
		"--unsafe-no-fsync", // a throw-away cluster: no need to wait for the disk
		"--log-level=warn")
	if err != nil {
		return err
	}
	if err := poll(ctx, time.Minute, "etcd health", func(ctx context.Context) (bool, error) {
		if err := etcd.errIfExited(); err != nil {
			return false, fatal(err)
		}
		body, err := httpGet(ctx, http.DefaultClient, etcdURL+"/health")
		return strings.Contains(body, `"health":"true"`), err
	}); err != nil {
		return err
	}

	pki := func(name string) string { return pkiDir + "/" + name }
	apiserver, err := start("kube-apiserver",
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--secure-port=6443",
		// The API server refuses a loopback advertise address unless it
		// does not maintain the "kubernetes" service's endpoints itself.
		"--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none",
		"--service-cluster-ip-range="+serviceCIDR,
		"--client-ca-file="+caCertFile,
		"--tls-cert-file="+pki("apiserver.crt"), "--tls-private-key-file="+pki("apiserver.key"),
		"--kubelet-client-certificate="+pki("apiserver-kubelet-client.crt"),
		"--kubelet-client-key="+pki("apiserver-kubelet-client.key"),
		"--kubelet-preferred-address-types=InternalIP",
		"--service-account-issuer="+ServiceAccountIssuer,
		"--service-account-key-file="+saPubFile,
		"--service-account-signing-key-file="+saKeyFile,
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--allow-privileged=true", // the installer DaemonSet is privileged
		"--profiling=false")
	if err != nil {
		return err
	}
	client, err := c.adminHTTPClient()
	if err != nil {
		return err
	}
	if err := poll(ctx, 2*time.Minute, "kube-apiserver /readyz", func(ctx context.Context) (bool, error) {
		if err := apiserver.errIfExited(); err != nil {
			return false, fatal(err)
		}
		body, err := httpGet(ctx, client, apiServerURL+"/readyz")
		return body == "ok", err
	}); err != nil {
		return err
	}

	cm, err := start("kube-controller-manager",
		"--kubeconfig="+cmConf,
		"--authentication-kubeconfig="+cmConf, "--authorization-kubeconfig="+cmConf,
		"--client-ca-file="+caCertFile, "--root-ca-file="+caCertFile,
		"--cluster-signing-cert-file="+caCertFile, "--cluster-signing-key-file="+pki("ca.key"),
		"--service-account-private-key-file="+saKeyFile,
		"--use-service-account-credentials",
		"--service-cluster-ip-range="+serviceCIDR,
		"--bind-address=127.0.0.1", "--leader-elect=false", "--profiling=false")
	if err != nil {
		return err
	}
	sched, err := start("kube-scheduler",
		"--kubeconfig="+schedConf,
		"--authentication-kubeconfig="+schedConf, "--authorization-kubeconfig="+schedConf,
		"--bind-address=127.0.0.1", "--leader-elect=false", "--profiling=false")
	if err != nil {
		return err
	}
	// Their own serving certificates are self-signed in memory; /healthz is
	// open to anyone. Loopback only, so not verifying them costs nothing.
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for _, w := range []struct {
		p   *proc
		url string
	}{{cm, "https://127.0.0.1:10257/healthz"}, {sched, "https://127.0.0.1:10259/healthz"}} {
		if err := poll(ctx, time.Minute, w.p.name+" /healthz", func(ctx context.Context) (bool, error) {
			if err := w.p.errIfExited(); err != nil {
				return false, fatal(err)
			}
			body, err := httpGet(ctx, insecure, w.url)
			return body == "ok", err
		}); err != nil {
			return err
		}
	}
	return nil
}

// stop stops the components in reverse order.
func (cp *controlPlane) stop() {
	for i := len(cp.procs) - 1; i >= 0; i-- {
		cp.procs[i].stop(10*time.Second, true)
	}
}

// adminHTTPClient talks to the API server as a member of system:masters.
func (c *Cluster) adminHTTPClient() (*http.Client, error) {
	cert, err := tls.LoadX509KeyPair(pkiDir+"/apiserver-kubelet-client.crt", pkiDir+"/apiserver-kubelet-client.key")
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(caCertFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}},
	}}, nil
}

// httpGet returns the body of a 200 reply, or an error naming the status.
func httpGet(ctx context.Context, client *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %.300s", url, resp.Status, b)
	}
	return strings.TrimSpace(string(b)), nil
}

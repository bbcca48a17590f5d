// Command fakeserve runs the fake Google endpoints and the fake GCR-style
// registry as a process, for trying gcrcred by hand without a Google account:
//
//	go run ./test/fakeserve [--dir D] [--tls]
//
// It writes into D (default: a new temporary directory) one credentials file
// of each kind gcrcred reads, all pointing at the fake; pushes a private and a
// public image; writes D/state.json for programs; prints what is where and
// how to use it; and serves until Ctrl-C (or SIGTERM, EOF on a piped stdin,
// or its parent exiting, so it never outlives whoever started it).
//
// With --tls it also serves the Google endpoints over HTTPS under Google's
// host names, reachable through an HTTP CONNECT proxy: set
// HTTPS_PROXY=state.proxy_url and SSL_CERT_FILE=state.ca_file.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gcrcred/gcrcred/internal/atomicfile"
	"github.com/gcrcred/gcrcred/test/fakegcr"
	"github.com/gcrcred/gcrcred/test/fakegoogle"
)

// state is D/state.json. Counters are at google_url + "/_stats" and
// "http://" + registry_host + "/_stats".
type state struct {
	GoogleURL    string            `json:"google_url"`
	MetadataHost string            `json:"metadata_host"` // for GCE_METADATA_HOST
	RegistryHost string            `json:"registry_host"`
	CAFile       string            `json:"ca_file,omitempty"`   // with --tls, for SSL_CERT_FILE
	ProxyURL     string            `json:"proxy_url,omitempty"` // with --tls, for HTTPS_PROXY
	PrivateImage string            `json:"private_image"`
	PublicImage  string            `json:"public_image"`
	Credentials  map[string]string `json:"credentials"` // kind -> file
}

// credentialKind is one credentials file written, and what it is.
type credentialKind struct {
	name, what string
	write      func(dir, name string) (path, identity string, err error)
}

// credentialKinds are the files written, one of each kind gcrcred reads.
func credentialKinds(g *fakegoogle.Google) []credentialKind {
	return []credentialKind{
		{"sa", "service-account key (JWT grant at the fake token endpoint)", g.WriteServiceAccountKey},
		{"user", "gcloud user login, authorized_user (refresh-token grant)", g.WriteAuthorizedUser},
		{"external", "workload identity federation, external_account (STS, then IAM)", g.WriteExternalAccount},
		{"impersonated", "impersonated_service_account (refresh, then IAM)", g.WriteImpersonated},
	}
}

func main() {
	dir := flag.String("dir", "", "directory for the credential files and state.json (default: a new temporary one)")
	withTLS := flag.Bool("tls", false, "also serve HTTPS under Google's host names behind a CONNECT proxy")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: go run ./test/fakeserve [--dir DIR] [--tls]")
		os.Exit(2)
	}
	if err := run(*dir, *withTLS); err != nil {
		fmt.Fprintln(os.Stderr, "fakeserve:", err)
		os.Exit(1)
	}
}

func run(dir string, withTLS bool) error {
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "gcrcred-fakes-"); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	g, reg, stop, err := fakegcr.Start()
	if err != nil {
		return err
	}
	defer stop()

	st := state{
		GoogleURL:    g.URL,
		MetadataHost: g.MetadataHost(),
		RegistryHost: reg.Host(),
		PrivateImage: reg.Host() + "/proj/private:latest",
		PublicImage:  reg.Host() + "/distroless/static:latest",
		Credentials:  map[string]string{},
	}
	if withTLS {
		caFile, addr, err := g.StartTLS()
		if err != nil {
			return err
		}
		proxyURL, closeProxy, err := fakegoogle.StartConnectProxy(addr)
		if err != nil {
			return err
		}
		defer closeProxy()
		st.CAFile, st.ProxyURL = caFile, proxyURL
	}
	kinds := credentialKinds(g)
	for _, k := range kinds {
		path, _, err := k.write(dir, k.name)
		if err != nil {
			return fmt.Errorf("writing %s.json: %w", k.name, err)
		}
		st.Credentials[k.name] = path
	}
	if _, err := reg.Push("proj/private", "latest"); err != nil {
		return err
	}
	reg.SetPublic("distroless")
	if _, err := reg.Push("distroless/static", "latest"); err != nil {
		return err
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "state.json"), append(b, '\n'), 0o600); err != nil {
		return err
	}
	describe(os.Stdout, dir, st, kinds)
	<-stopped()
	return nil
}

// describe says what runs where and how to point gcrcred at it.
func describe(w io.Writer, dir string, st state, kinds []credentialKind) {
	fmt.Fprintf(w, "Fake Google on %s: token endpoint, STS, IAM Credentials, metadata server (GCE_METADATA_HOST=%s)\n", st.GoogleURL, st.MetadataHost)
	fmt.Fprintf(w, "Fake registry on %s (plain HTTP), authenticating like gcr.io:\n", st.RegistryHost)
	fmt.Fprintf(w, "  private image %s (needs Google credentials)\n  public image  %s\n", st.PrivateImage, st.PublicImage)
	fmt.Fprintf(w, "Credential files in %s, each pointing at the fake:\n", dir)
	for _, k := range kinds {
		fmt.Fprintf(w, "  %-50s %s\n", st.Credentials[k.name], k.what)
	}
	if st.ProxyURL != "" {
		fmt.Fprintf(w, "HTTPS under Google's names: HTTPS_PROXY=%s SSL_CERT_FILE=%s\n", st.ProxyURL, st.CAFile)
	}
	fmt.Fprintf(w, `Try, in another shell:
  export GCRCRED_CREDENTIALS=%s GCRCRED_REGISTRIES=%s GCE_METADATA_HOST=%s GCRCRED_TEST_LOOPBACK_ENDPOINTS=1
  bin/gcrcred token %s        # an access token the fake accepts
  echo %s | bin/docker-credential-gcrcred get
Counters: %s/_stats and http://%s/_stats; %s/state.json for programs.
Serving until Ctrl-C.
ready
`, st.Credentials["sa"], st.RegistryHost, st.MetadataHost, st.RegistryHost, st.RegistryHost, st.GoogleURL, st.RegistryHost, dir)
}

// stopped is closed when it is time to exit: a signal, EOF on a piped stdin,
// or the parent process gone (this process re-parented).
func stopped() <-chan struct{} {
	done := make(chan struct{}, 3)
	stop := func() { done <- struct{}{} }

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-sig; stop() }()

	// Watch stdin only when it is a pipe or socket: /dev/null or a regular
	// file would end at once, and a terminal ends with Ctrl-D or Ctrl-C anyway.
	if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&(os.ModeNamedPipe|os.ModeSocket) != 0 {
		go func() { io.Copy(io.Discard, os.Stdin); stop() }()
	}

	parent := os.Getppid()
	go func() {
		for range time.Tick(500 * time.Millisecond) {
			if os.Getppid() != parent {
				stop()
				return
			}
		}
	}()
	return done
}

// Command fakeserve runs the fake Google endpoints and the fake GCR registry
// as a process, for demos and benchmarks.
//
//	fakeserve --dir D [--tls]
//
// It writes into D the credential files sa.json, user.json, external.json
// (with external-subject-token.txt) and impersonated.json, all pointing at
// the fake; pushes the images proj/private:latest and distroless/static:latest
// (public); writes D/state.json (see state); prints "ready" on stdout; and
// serves until SIGINT or SIGTERM, until stdin reaches EOF when stdin is a
// pipe or socket, or until its parent process exits, so that it never
// outlives whoever started it.
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

	"github.com/gcrcred/gcrcred/internal/fakegcr"
	"github.com/gcrcred/gcrcred/internal/fakegoogle"
)

// state is D/state.json. Counters are at google_url + "/_stats" and
// "http://" + registry_host + "/_stats".
type state struct {
	GoogleURL    string `json:"google_url"`
	MetadataHost string `json:"metadata_host"` // for GCE_METADATA_HOST
	RegistryHost string `json:"registry_host"`
	CAFile       string `json:"ca_file"`   // with --tls, for SSL_CERT_FILE
	ProxyURL     string `json:"proxy_url"` // with --tls, for HTTPS_PROXY
	PrivateImage string `json:"private_image"`
	PublicImage  string `json:"public_image"`
}

func main() {
	dir := flag.String("dir", "", "directory for the credential files and state.json (required)")
	withTLS := flag.Bool("tls", false, "also serve HTTPS under Google's host names behind a CONNECT proxy")
	flag.Parse()
	if *dir == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: fakeserve --dir DIR [--tls]")
		os.Exit(2)
	}
	if err := run(*dir, *withTLS); err != nil {
		fmt.Fprintln(os.Stderr, "fakeserve:", err)
		os.Exit(1)
	}
}

func run(dir string, withTLS bool) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	g, err := fakegoogle.New()
	if err != nil {
		return err
	}
	defer g.Close()
	reg, err := fakegcr.New(g)
	if err != nil {
		return err
	}
	defer reg.Close()

	st := state{
		GoogleURL:    g.URL,
		MetadataHost: g.MetadataHost(),
		RegistryHost: reg.Host(),
		PrivateImage: reg.Host() + "/proj/private:latest",
		PublicImage:  reg.Host() + "/distroless/static:latest",
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

	for name, write := range map[string]func(dir, name string) (string, string, error){
		"sa":           g.WriteServiceAccountKey,
		"user":         g.WriteAuthorizedUser,
		"external":     g.WriteExternalAccount,
		"impersonated": g.WriteImpersonated,
	} {
		if _, _, err := write(dir, name); err != nil {
			return fmt.Errorf("writing %s.json: %w", name, err)
		}
	}
	if _, err := reg.Push("proj/private", "latest"); err != nil {
		return err
	}
	reg.SetPublic("distroless")
	if _, err := reg.Push("distroless/static", "latest"); err != nil {
		return err
	}
	if err := writeState(filepath.Join(dir, "state.json"), st); err != nil {
		return err
	}

	fmt.Println("ready")
	<-stopped()
	return nil
}

// writeState writes state.json atomically, so a reader never sees half of it.
func writeState(path string, st state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
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

// Package fastpath answers the two calls made on every image pull — Docker's
// `get` and the kubelet's `get-credentials` — from the token cache alone.
//
// Why it exists: a Go program pays at start-up for every package it links.
// net/http, crypto/tls and golang.org/x/oauth2 (needed to mint) cost more
// than starting the process itself, and a warm `get` needs none of them. So
// this package, and everything it imports, stays free of HTTP and OAuth code
// (a test checks), and the launcher build of the binary runs it first.
// Anything it cannot answer from a fresh cached token — a miss, an error, an
// unusual mode — it declines, and the full program answers instead, with the
// same result it would have given anyway.
package fastpath

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/gcrcred/gcrcred/internal/credfile"
	"github.com/gcrcred/gcrcred/internal/logins"
	"github.com/gcrcred/gcrcred/internal/registries"
	"github.com/gcrcred/gcrcred/internal/tokenstore"
	"github.com/gcrcred/gcrcred/provider/kubeletapi"
)

// Result of a fast-path attempt.
type Result int

const (
	Declined Result = iota // nothing written: the full program must answer
	Answered               // answer written, exit 0
	NotFound               // the protocol's not-found written, exit 1
)

// Docker answers a Docker credential helper `get` whose stdin was input.
func Docker(input []byte, stdout io.Writer) Result {
	serverURL := strings.TrimSpace(string(input))
	if serverURL == "" {
		return Declined
	}
	host := registries.Host(serverURL)
	if !registries.FromEnv().Serves(host) {
		// What credentials.Serve prints for the helper's not-found error.
		fmt.Fprintln(stdout, credentials.NewErrCredentialsNotFound())
		return NotFound
	}
	tok := cachedToken(logins.FromEnv().KeyFile(host), "")
	if tok == nil {
		return Declined
	}
	// Exactly what credentials.Get writes.
	if json.NewEncoder(stdout).Encode(credentials.Credentials{
		ServerURL: serverURL, Username: credfile.TokenUsername, Secret: tok.AccessToken,
	}) != nil {
		return Declined
	}
	return Answered
}

// Kubelet answers `gcrcred get-credentials ARGS` whose stdin was input, or
// reports false, having written nothing.
func Kubelet(args []string, input []byte, stdout io.Writer) bool {
	fs := flag.NewFlagSet("get-credentials", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	credentialsFile := fs.String("credentials", "", "")
	cacheDir := fs.String("cache-dir", "", "")
	if fs.Parse(args) != nil || fs.NArg() > 0 {
		return false
	}
	req, err := kubeletapi.ParseRequest(input)
	if err != nil {
		return false // the full program explains what is wrong
	}
	resp := kubeletapi.NewResponse(req)
	host := kubeletapi.RegistryOf(req.Image)
	if registries.FromEnv().Serves(host) {
		tok := cachedToken(*credentialsFile, *cacheDir)
		if tok == nil {
			return false
		}
		resp.SetToken(host, tok.AccessToken, tok.Expiry, time.Now())
	}
	out, err := json.Marshal(resp)
	if err != nil {
		return false
	}
	_, err = stdout.Write(append(out, '\n'))
	return err == nil
}

// cachedToken is the fresh cached token for the credentials file the order
// of DESIGN.md picks (explicit first), or nil. Credentials that are not a
// file (metadata server, gcloud CLI) and json-key mode are left to the full
// program.
func cachedToken(explicit, cacheDir string) *tokenstore.Token {
	if credfile.JSONKeyMode() {
		return nil
	}
	f, _, err := credfile.Locate(explicit)
	if err != nil || f == nil {
		return nil
	}
	if cacheDir == "" {
		cacheDir = tokenstore.DefaultDir()
	}
	tok := tokenstore.Read(cacheDir, credfile.CacheKey(f.Identity(), credfile.Scopes()))
	if !tok.Fresh() {
		return nil
	}
	return tok
}

// Package helper is the Docker credential-helper front end, and the commands
// a Docker user runs (configure-docker, token, doctor). The protocol comes
// from docker-credential-helpers/credentials (a Helper and a command
// handler), credentials from internal/auth.
package helper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/gcrcred/gcrcred/internal/auth"
	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/credfile"
	"github.com/gcrcred/gcrcred/internal/dockerconfig"
	"github.com/gcrcred/gcrcred/internal/logins"
	"github.com/gcrcred/gcrcred/internal/registries"
	"github.com/gcrcred/gcrcred/internal/settings"
	"github.com/gcrcred/gcrcred/internal/stdin"
	"github.com/gcrcred/gcrcred/internal/version"
)

// Helper implements credentials.Helper for Google registries.
type Helper struct {
	Registries registries.Set
	Logins     logins.Store // keys kept by `docker login -u _json_key`
	Auth       auth.Options // where credentials come from (its Settings)
	JSONKey    bool         // GCRCRED_AUTH=json-key
	Stderr     io.Writer    // hints for the user; Docker shows the helper's stderr
}

// New builds the Helper that the settings s describe. An extra registry
// pattern that is refused is not served, and said so on stderr.
func New(s settings.Settings, stderr io.Writer) *Helper {
	set, err := registries.FromList(s.Registries)
	if err != nil {
		fmt.Fprintf(stderr, "gcrcred: ignoring part of %s: %s\n", registries.EnvExtra, err)
	}
	return &Helper{
		Registries: set,
		Logins:     logins.Store{Dir: s.LoginsDir},
		Auth:       auth.Options{Settings: s},
		JSONKey:    s.JSONKey,
		Stderr:     stderr,
	}
}

// maxInput caps what a verb reads from stdin: a server URL, or a `store`
// JSON holding a service-account key (a few KiB).
const maxInput = 1 << 20

// Serve runs one helper verb with the settings s, like credentials.Serve
// but with the streams and exit code handed back to main: errors go to
// stdout (the protocol), exit 1. The request is read here, with a
// deadline, before the library sees it.
func Serve(args []string, s settings.Settings, in io.Reader, stdout, stderr io.Writer) int {
	credentials.Name = "docker-credential-gcrcred"
	credentials.Package = "github.com/gcrcred/gcrcred"
	if len(args) != 1 {
		fmt.Fprintln(stdout, "Usage: docker-credential-gcrcred <store|get|erase|list|version>")
		return 1
	}
	verb := args[0]
	if verb == "version" {
		// Only here: reading the build information costs every get.
		credentials.Version = version.Version()
	}
	var input []byte
	switch verb {
	case "get", "store", "erase":
		what := map[string]string{"get": "a server URL", "erase": "a server URL", "store": "the credentials JSON from `docker login`"}[verb]
		var err error
		if input, err = stdin.Read(in, maxInput, s.Limits.Stdin(), what); err != nil {
			fmt.Fprintf(stdout, "gcrcred %s: %v\n", verb, err)
			return 1
		}
	}
	if err := credentials.HandleCommand(New(s, stderr), verb, bytes.NewReader(input), stdout); err != nil {
		if credentials.IsErrCredentialsNotFound(err) {
			fmt.Fprintln(stdout, err) // exactly the protocol's text
		} else {
			fmt.Fprintf(stdout, "gcrcred: %v\n", err)
		}
		return 1
	}
	return 0
}

// ProtocolCommands are the docker-credential-helpers verbs under the plain
// name (`gcrcred get`), for the help and completion; main runs a bare
// `gcrcred get` before any command line is built, as Docker's name does.
func ProtocolCommands() []*cli.Command {
	verb := func(name, summary string) *cli.Command {
		return &cli.Command{
			Name:    name,
			Summary: summary,
			Help: "The Docker credential helper protocol's " + name + ", as docker-credential-gcrcred " + name + `
(` + map[string]string{"get": "a server URL on stdin; the credentials JSON on stdout", "store": "the credentials JSON of `docker login` on stdin",
				"erase": "a server URL on stdin", "list": "the registries served, as JSON on stdout"}[name] + `). Docker runs it; by hand:
  echo gcr.io | gcrcred get`,
			Run: func(c *cli.Call) int { return Serve([]string{name}, c.Settings, c.Stdin, c.Stdout, c.Stderr) },
		}
	}
	return []*cli.Command{
		verb("get", "Docker credential helper protocol: credentials for a registry"),
		verb("store", "Docker credential helper protocol: keep a key from `docker login -u _json_key`"),
		verb("erase", "Docker credential helper protocol: forget a kept key (`docker logout`)"),
		verb("list", "Docker credential helper protocol: the registries served"),
	}
}

// Get answers for Google registries; every other host gets the protocol's
// not-found so Docker falls back to anonymous access.
func (h *Helper) Get(serverURL string) (username, secret string, err error) {
	if !h.Registries.Serves(serverURL) {
		return "", "", credentials.NewErrCredentialsNotFound()
	}
	host := registries.Host(serverURL)
	src, err := h.source(host)
	if errors.Is(err, auth.ErrNoCredentials) {
		// Public images (gcr.io/distroless, ...) must still pull.
		fmt.Fprintf(h.Stderr, "gcrcred: no Google credentials for %s, trying anonymous access; to pull private images set GCRCRED_CREDENTIALS to a key file or run `gcloud auth application-default login`\n", host)
		return "", "", credentials.NewErrCredentialsNotFound()
	}
	if err != nil {
		return "", "", fmt.Errorf("credentials for %s: %w", host, err)
	}
	if h.JSONKey {
		key, err := src.KeyJSON()
		if err != nil {
			return "", "", err
		}
		return credfile.JSONKeyUsername, string(key), nil
	}
	tok, err := src.Token(context.Background())
	if err != nil {
		return "", "", err
	}
	return credfile.TokenUsername, tok.AccessToken, nil
}

// source is the kept `docker login` key for host if there is one, else the
// credential order.
func (h *Helper) source(host string) (*auth.Source, error) {
	opts := h.Auth
	if key := h.Logins.Key(host); key != nil {
		opts.Credentials = key
	}
	return auth.Discover(opts)
}

// Add is `docker login` through a credHelpers entry.
func (h *Helper) Add(c *credentials.Credentials) error {
	if !h.Registries.Serves(c.ServerURL) {
		return fmt.Errorf("%q is not a Google registry: add it to %s if it should be served", c.ServerURL, registries.EnvExtra)
	}
	host := registries.Host(c.ServerURL)
	switch c.Username {
	case credfile.JSONKeyUsername:
		if _, err := credfile.ParseServiceAccountKey([]byte(c.Secret)); err != nil {
			return fmt.Errorf("login to %s: %w", host, err)
		}
		return h.Logins.Save(host, []byte(c.Secret))
	case credfile.TokenUsername:
		// Someone pasted `gcloud auth print-access-token`: accept the login,
		// keep nothing; we mint our own tokens, which do not expire under them.
		return nil
	}
	return fmt.Errorf("cannot log in to %s as %q: use `-u _json_key` with a service-account key file as the password, or skip `docker login` (gcrcred mints tokens from your Google credentials)", host, c.Username)
}

// Delete is `docker logout`: forget a kept key; nothing kept is fine.
func (h *Helper) Delete(serverURL string) error {
	host := registries.Host(serverURL)
	if host == "" {
		return nil
	}
	return h.Logins.Remove(host)
}

// List names the registries served: well-known hosts, extra hosts without
// globs, and kept logins.
func (h *Helper) List() (map[string]string, error) {
	out := map[string]string{}
	for _, r := range dockerconfig.DefaultHosts {
		out[r] = credfile.TokenUsername
	}
	for _, p := range h.Registries {
		if !registries.IsPattern(p) {
			out[p] = credfile.TokenUsername
		}
	}
	hosts, err := h.Logins.Hosts()
	for _, host := range hosts {
		out[host] = credfile.JSONKeyUsername
	}
	return out, err
}

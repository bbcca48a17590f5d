// Package helper is the Docker credential-helper front end: the protocol comes
// from docker-credential-helpers/credentials, credentials from internal/auth.
package helper

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/gcrcred/gcrcred/internal/auth"
	"github.com/gcrcred/gcrcred/internal/logins"
	"github.com/gcrcred/gcrcred/internal/registries"
	"github.com/gcrcred/gcrcred/internal/version"
)

// Helper implements credentials.Helper for Google registries.
type Helper struct {
	Registries registries.Set
	Logins     logins.Store // keys kept by `docker login -u _json_key`
	Auth       auth.Options // where credentials come from
	JSONKey    bool         // GCRCRED_AUTH=json-key
	Stderr     io.Writer    // hints for the user; Docker shows the helper's stderr
}

// FromEnv builds the Helper the environment describes.
func FromEnv(stderr io.Writer) *Helper {
	return &Helper{
		Registries: registries.FromEnv(),
		Logins:     logins.FromEnv(),
		JSONKey:    auth.JSONKeyMode(),
		Stderr:     stderr,
	}
}

// Serve runs one helper verb, like credentials.Serve but with the streams and
// exit code handed back to main: errors go to stdout (the protocol), exit 1.
func Serve(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	credentials.Name = "docker-credential-gcrcred"
	credentials.Package = "github.com/gcrcred/gcrcred"
	credentials.Version = version.Version
	if len(args) != 1 {
		fmt.Fprintln(stdout, "Usage: docker-credential-gcrcred <store|get|erase|list|version>")
		return 1
	}
	if err := credentials.HandleCommand(FromEnv(stderr), args[0], stdin, stdout); err != nil {
		fmt.Fprintln(stdout, err)
		return 1
	}
	return 0
}

// Get answers for Google registries; every other host gets the protocol's
// not-found so Docker falls back to anonymous access.
func (h *Helper) Get(serverURL string) (username, secret string, err error) {
	host := registries.Host(serverURL)
	if !h.Registries.Serves(host) {
		return "", "", credentials.NewErrCredentialsNotFound()
	}
	src, err := h.source(host)
	if errors.Is(err, auth.ErrNoCredentials) {
		// Public images (gcr.io/distroless, ...) must still pull.
		fmt.Fprintf(h.Stderr, "gcrcred: no Google credentials for %s, trying anonymous access; to pull private images set GCRCRED_CREDENTIALS to a key file or run `gcloud auth application-default login`\n", host)
		return "", "", credentials.NewErrCredentialsNotFound()
	}
	if err != nil {
		return "", "", fmt.Errorf("gcrcred: credentials for %s: %w", host, err)
	}
	if h.JSONKey {
		key, err := src.KeyJSON()
		if err != nil {
			return "", "", fmt.Errorf("gcrcred: %w", err)
		}
		return auth.JSONKeyUsername, string(key), nil
	}
	tok, err := src.Token(context.Background())
	if err != nil {
		return "", "", fmt.Errorf("gcrcred: %w", err)
	}
	return auth.TokenUsername, tok.AccessToken, nil
}

// source is the stored `docker login` key for host if there is one, else the
// credential order of DESIGN.md.
func (h *Helper) source(host string) (*auth.Source, error) {
	opts := h.Auth
	if key := h.Logins.KeyFile(host); key != "" {
		opts.CredentialsFile = key
	}
	return auth.Discover(opts)
}

// Add is `docker login` through a credHelpers entry.
func (h *Helper) Add(c *credentials.Credentials) error {
	host := registries.Host(c.ServerURL)
	if !h.Registries.Serves(host) {
		return fmt.Errorf("gcrcred: %s is not a Google registry; add it to GCRCRED_REGISTRIES if it should be served", host)
	}
	switch c.Username {
	case auth.JSONKeyUsername:
		if _, err := auth.ParseServiceAccountKey([]byte(c.Secret)); err != nil {
			return fmt.Errorf("gcrcred: login to %s: %w", host, err)
		}
		return h.Logins.Save(host, []byte(c.Secret))
	case auth.TokenUsername:
		// Someone pasted `gcloud auth print-access-token`: accept the login,
		// keep nothing; we mint our own tokens, which do not expire under them.
		return nil
	}
	return fmt.Errorf("gcrcred: cannot log in to %s as %q: use `-u _json_key` with a service-account key file as the password, or skip `docker login` (gcrcred mints tokens from your Google credentials)", host, c.Username)
}

// Delete is `docker logout`: forget a stored key; nothing stored is fine.
func (h *Helper) Delete(serverURL string) error {
	return h.Logins.Remove(registries.Host(serverURL))
}

// List names the registries served: well-known hosts, extra hosts without
// globs, and stored logins.
func (h *Helper) List() (map[string]string, error) {
	out := map[string]string{}
	for _, r := range DefaultDockerRegistries {
		out[r] = auth.TokenUsername
	}
	for _, p := range h.Registries {
		if !registries.IsPattern(p) {
			out[p] = auth.TokenUsername
		}
	}
	hosts, err := h.Logins.Hosts()
	for _, host := range hosts {
		out[host] = auth.JSONKeyUsername
	}
	return out, err
}

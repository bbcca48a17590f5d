// Package provider is the kubelet front end: `gcrcred get-credentials`, the
// image credential provider exec API (wire types in internal/kubeletapi),
// and `gcrcred kubelet-config`, the CredentialProviderConfig that wires it in.
package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/auth"
	"github.com/gcrcred/gcrcred/internal/cache"
	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/credfile"
	"github.com/gcrcred/gcrcred/internal/kubeletapi"
	"github.com/gcrcred/gcrcred/internal/limits"
	"github.com/gcrcred/gcrcred/internal/logx"
	"github.com/gcrcred/gcrcred/internal/registries"
	"github.com/gcrcred/gcrcred/internal/stdin"
)

// GetOptions are get-credentials' flags; empty fields mean the environment
// (GCRCRED_CREDENTIALS, GCRCRED_CACHE_DIR, ...), as the config's env sets it.
type GetOptions struct {
	CredentialsFile string
	CacheDir        string
}

const getHelp = `Usage: gcrcred get-credentials [--credentials FILE] [--cache-dir DIR]

Run by the kubelet as an image credential provider: reads a
CredentialProviderRequest (credentialprovider.kubelet.k8s.io/v1, v1beta1 or
v1alpha1) on stdin and writes the CredentialProviderResponse to stdout.
` + "`gcrcred kubelet-config`" + ` prints the kubelet configuration that runs it.

Flags:
  --credentials FILE   credentials file (default: the credential order)
  --cache-dir DIR      token cache directory (default: GCRCRED_CACHE_DIR, ~/.cache/gcrcred)
`

const name = "gcrcred get-credentials"

// RunGetCredentials is `gcrcred get-credentials`. On any failure it prints one
// line to stderr (the kubelet shows a failing plugin's stderr) and nothing to
// stdout, and exits non-zero.
func RunGetCredentials(args []string, in io.Reader, stdout, stderr io.Writer) (code int) {
	logx.SetOutput(stderr)
	defer func() {
		// The kubelet logs a failing plugin's stderr: one line, not a trace.
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "%s: internal error (%v): please report it; run with GCRCRED_LOG=debug for detail\n", name, r)
			code = 1
		}
	}()

	var opts GetOptions
	c := cli.New(name, getHelp, 0)
	c.Flags.StringVar(&opts.CredentialsFile, "credentials", "", "")
	c.Flags.StringVar(&opts.CacheDir, "cache-dir", "", "")
	if ok, code := c.Parse(args, stdout, stderr); !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), limits.Answer())
	defer cancel()
	data, err := stdin.Read(in, kubeletapi.MaxRequestBytes, limits.Stdin(), "a CredentialProviderRequest from the kubelet")
	if err != nil {
		return fail(stderr, err)
	}
	req, err := kubeletapi.ParseRequest(data)
	if err != nil {
		return fail(stderr, err)
	}
	resp, err := Answer(ctx, req, opts)
	if err != nil {
		return fail(stderr, err)
	}
	out, err := json.Marshal(resp)
	if err != nil {
		return fail(stderr, fmt.Errorf("encoding the response: %v", err))
	}
	if _, err := stdout.Write(append(out, '\n')); err != nil {
		return fail(stderr, fmt.Errorf("writing the response: %v", err))
	}
	return 0
}

func fail(stderr io.Writer, err error) int {
	return cli.Fail(stderr, name, errors.New(logx.Redact(err.Error())))
}

// Answer builds the response to req: credentials for the image's registry
// host, or an empty auth map for a registry gcrcred does not serve.
//
// No credentials at all is an error, not an empty answer: the provider is
// configured on purpose, and the kubelet shows stderr only for a failing
// plugin, so an empty success would hide the problem. Public images still
// pull: on a plugin error the kubelet logs it and pulls with what other
// sources give (anonymous if none), and never caches the failure, so a
// fixed node recovers at the next pull.
func Answer(ctx context.Context, req *kubeletapi.CredentialProviderRequest, opts GetOptions) (*kubeletapi.CredentialProviderResponse, error) {
	resp := kubeletapi.NewResponse(req)
	set, err := registries.FromEnv(os.Getenv)
	if err != nil {
		logx.Warnf("ignoring part of %s: %v", registries.EnvExtra, err)
	}
	if !set.Serves(req.Image) {
		logx.Debugf("the image's registry is not one gcrcred serves (%s); answering with no credentials", registries.EnvExtra)
		return resp, nil
	}
	host := kubeletapi.RegistryOf(req.Image)
	src, err := auth.Discover(auth.Options{CredentialsFile: opts.CredentialsFile, CacheDir: opts.CacheDir})
	if errors.Is(err, auth.ErrNoCredentials) {
		tried := err.Error()
		var nf *auth.NotFoundError
		if errors.As(err, &nf) {
			tried = "tried " + strings.Join(nf.Tried, "; ")
		}
		return nil, fmt.Errorf("no credentials for %s (%s): put a key at %s, or set GCRCRED_CREDENTIALS in the provider config's env (`gcrcred kubelet-config --credentials FILE`); meanwhile the kubelet pulls without credentials",
			host, tried, credfile.SystemCredentials)
	}
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %v", host, err)
	}
	logx.Debugf("credentials for %s: %s (%s)", host, src.Origin, src.Account)

	if credfile.JSONKeyMode() {
		key, err := src.KeyJSON()
		if err != nil {
			return nil, err
		}
		resp.SetAuth(host, credfile.JSONKeyUsername, string(key), nil)
		return resp, nil
	}

	tok, err := src.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %v", host, err)
	}
	logx.Debugf("token for %s expires %s", host, tok.Expiry.Format(time.RFC3339))
	d := CacheDuration(tok.Expiry, time.Now())
	resp.SetAuth(host, credfile.TokenUsername, tok.AccessToken, &d)
	return resp, nil
}

// CacheDuration is how long the kubelet may reuse a token expiring at expiry:
// its remaining lifetime minus cache.Margin, so the kubelet asks again when
// our own cache would re-mint. Never negative ("0s" tells the kubelet not to
// cache), never longer than cache.MaxLifetime; whole seconds.
func CacheDuration(expiry, now time.Time) time.Duration {
	d := min(expiry.Sub(now)-cache.Margin, cache.MaxLifetime)
	if d < 0 {
		return 0
	}
	return d.Truncate(time.Second)
}

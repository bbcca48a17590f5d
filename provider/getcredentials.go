package provider

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/auth"
	"github.com/gcrcred/gcrcred/internal/logx"
	"github.com/gcrcred/gcrcred/internal/registries"
	"github.com/gcrcred/gcrcred/provider/kubeletapi"
)

// answerDeadline bounds the whole answer, inside the kubelet's one-minute
// kill. Minting alone gives up after auth.MintDeadline (20 s).
const answerDeadline = 50 * time.Second

// GetOptions are get-credentials' flags; empty fields mean the environment
// (GCRCRED_CREDENTIALS, GCRCRED_CACHE_DIR, ...), as the config's env sets it.
type GetOptions struct {
	CredentialsFile string
	CacheDir        string
}

const getUsage = `usage: gcrcred get-credentials [--credentials FILE] [--cache-dir DIR]

Run by the kubelet as an image credential provider: reads a
CredentialProviderRequest (credentialprovider.kubelet.k8s.io/v1, v1beta1 or
v1alpha1) on stdin and writes the CredentialProviderResponse to stdout.
`

// RunGetCredentials is `gcrcred get-credentials`. On any failure it prints one
// line to stderr (the kubelet shows a failing plugin's stderr) and nothing to
// stdout, and exits non-zero.
func RunGetCredentials(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	logx.SetOutput(stderr)
	defer func() {
		// The kubelet logs a failing plugin's stderr: one line, not a trace.
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "gcrcred get-credentials: internal error (%v): please report it; run with GCRCRED_LOG=debug for detail\n", r)
			code = 1
		}
	}()

	var opts GetOptions
	fs := flag.NewFlagSet("get-credentials", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&opts.CredentialsFile, "credentials", "", "credentials file")
	fs.StringVar(&opts.CacheDir, "cache-dir", "", "token cache directory")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, getUsage)
			return 0
		}
		fmt.Fprintf(stderr, "gcrcred get-credentials: %v\n%s", err, getUsage)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gcrcred get-credentials: unexpected argument %q: the request comes on stdin\n%s", fs.Arg(0), getUsage)
		return 2
	}

	req, err := kubeletapi.ReadRequest(stdin)
	if err != nil {
		return fail(stderr, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), answerDeadline)
	defer cancel()
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
	msg := strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
	fmt.Fprintf(stderr, "gcrcred get-credentials: %s\n", logx.Redact(msg))
	return 1
}

// Answer builds the response to req: credentials for the image's registry
// host, or an empty auth map for a registry gcrcred does not serve.
//
// No credentials at all is an error, not an empty answer: the provider is
// configured on purpose, and the kubelet shows stderr only for a failing
// plugin, so an empty success would hide the problem (the GKE provider's
// bug). Public images still pull: on a plugin error the kubelet logs it and
// carries on with no credentials from this provider
// (perPodPluginProvider.provideWithCoordinates in
// k8s.io/kubernetes/pkg/credentialprovider/plugin), and
// kubeGenericRuntimeManager.PullImage pulls anonymously when the keyring has
// none. A failure is also never cached by the kubelet, so a fixed node
// recovers at the next pull.
func Answer(ctx context.Context, req *kubeletapi.CredentialProviderRequest, opts GetOptions) (*kubeletapi.CredentialProviderResponse, error) {
	resp := kubeletapi.NewResponse(req)
	host := kubeletapi.RegistryOf(req.Image)
	if !registries.FromEnv().Serves(host) {
		logx.Debugf("%s is not a registry gcrcred serves (%s); answering with no credentials", host, registries.EnvExtra)
		return resp, nil
	}
	src, err := auth.Discover(auth.Options{CredentialsFile: opts.CredentialsFile, CacheDir: opts.CacheDir})
	if errors.Is(err, auth.ErrNoCredentials) {
		tried := err.Error()
		var nf *auth.NotFoundError
		if errors.As(err, &nf) {
			tried = "tried " + strings.Join(nf.Tried, "; ")
		}
		return nil, fmt.Errorf("no credentials for %s (%s): put a key at %s, or set GCRCRED_CREDENTIALS in the provider config's env (`gcrcred kubelet-config --credentials FILE`); meanwhile the kubelet pulls without credentials",
			host, tried, auth.SystemCredentials)
	}
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %v", host, err)
	}
	logx.Debugf("credentials for %s: %s (%s)", host, src.Origin, src.Account)

	if auth.JSONKeyMode() {
		key, err := src.KeyJSON()
		if err != nil {
			return nil, err
		}
		resp.SetKey(host, key)
		return resp, nil
	}

	tok, err := src.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %v", host, err)
	}
	logx.Debugf("token for %s expires %s", host, tok.Expiry.Format(time.RFC3339))
	resp.SetToken(host, tok.AccessToken, tok.Expiry, time.Now())
	return resp, nil
}

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
	"strconv"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/auth"
	"github.com/gcrcred/gcrcred/internal/cache"
	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/credfile"
	"github.com/gcrcred/gcrcred/internal/kubeletapi"
	"github.com/gcrcred/gcrcred/internal/logx"
	"github.com/gcrcred/gcrcred/internal/podidentity"
	"github.com/gcrcred/gcrcred/internal/registries"
	"github.com/gcrcred/gcrcred/internal/settings"
	"github.com/gcrcred/gcrcred/internal/stdin"
)

// GetOptions are get-credentials' flags; empty fields mean the environment
// (GCRCRED_CREDENTIALS, GCRCRED_CACHE_DIR, GCRCRED_WORKLOAD_IDENTITY,
// GCRCRED_REQUIRE_SERVICE_ACCOUNT, GCRCRED_POD_IDENTITY,
// GCRCRED_SUBJECT_MAPPING), as the config's env sets it. Apply puts them
// over the settings.
type GetOptions struct {
	CredentialsFile string
	CacheDir        string
	// WorkloadIdentityFile is the workload identity federation credential
	// configuration that pods' service-account tokens are exchanged with.
	WorkloadIdentityFile string
	// RequireServiceAccount refuses requests without a service-account
	// token instead of answering with the node's credentials.
	RequireServiceAccount bool
	// PodIdentityMode is podidentity.ModeAnnotated or ModeAll.
	PodIdentityMode string
	// SubjectMapping is the pool provider's google.subject mapping.
	SubjectMapping string
}

// Apply is s with the flags that were given in place of what the
// environment says.
func (o GetOptions) Apply(s settings.Settings) settings.Settings {
	s.CredentialsFlag = o.CredentialsFile
	for _, f := range []struct {
		flag string
		to   *string
	}{
		{o.CacheDir, &s.CacheDir}, {o.WorkloadIdentityFile, &s.WorkloadIdentity},
		{o.PodIdentityMode, &s.PodIdentity}, {o.SubjectMapping, &s.SubjectMapping},
	} {
		if f.flag != "" {
			*f.to = f.flag
		}
	}
	if o.RequireServiceAccount {
		s.RequireServiceAccount = "true"
	}
	return s
}

const name = "gcrcred get-credentials"

// GetCredentialsCommand is `gcrcred get-credentials`. On any failure it
// prints one line to stderr (the kubelet shows a failing plugin's stderr)
// and nothing to stdout, and exits non-zero.
func GetCredentialsCommand() *cli.Command {
	var opts GetOptions
	return &cli.Command{
		Name:    "get-credentials",
		Summary: "the kubelet's image credential provider (request on stdin, response on stdout)",
		Help: `Run by the kubelet as an image credential provider: reads a
CredentialProviderRequest (credentialprovider.kubelet.k8s.io/v1, v1beta1 or
v1alpha1) on stdin and writes the CredentialProviderResponse to stdout.
` + "`gcrcred kubelet-config`" + ` prints the kubelet configuration that runs it.

A request that carries the pod's service-account token (kubelet
tokenAttributes) gets a token for the pod's own Google identity when a
workload identity configuration is given and its service account asks for
one (--pod-identity annotated, the default: annotated
iam.gke.io/gcp-service-account or iam.gke.io/enable-wi-image-pull=true)
or every pod does (--pod-identity all); any other request gets the node's
credentials.`,
		Flags: func(fs *cli.FlagSet) {
			fs.StringVar(&opts.CredentialsFile, "credentials", "", "credentials `FILE` (default: GCRCRED_CREDENTIALS, then the credential order)")
			fs.StringVar(&opts.CacheDir, "cache-dir", "", "token cache `DIR` (default: GCRCRED_CACHE_DIR, else ~/.cache/gcrcred)")
			fs.StringVar(&opts.WorkloadIdentityFile, "workload-identity", "", "workload identity federation credential configuration `FILE` for pods' service-account tokens (default: GCRCRED_WORKLOAD_IDENTITY)")
			fs.BoolVar(&opts.RequireServiceAccount, "require-service-account", false, "refuse requests without a service-account token, or whose pod would get the node's credentials (default: GCRCRED_REQUIRE_SERVICE_ACCOUNT)")
			fs.StringVar(&opts.PodIdentityMode, "pod-identity", "", "per-pod identity `MODE`: annotated or all (default: GCRCRED_POD_IDENTITY, else annotated)")
			fs.StringVar(&opts.SubjectMapping, "subject-mapping", "", "the pool provider's google.subject mapping, an `EXPRESSION` (default: GCRCRED_SUBJECT_MAPPING, else assertion.sub)")
		},
		Run: func(c *cli.Call) int { return GetCredentials(opts.Apply(c.Settings), c.Stdin, c.Stdout, c.Stderr) },
	}
}

// GetCredentials answers the request on in with the settings s: the
// response on stdout, or one line on stderr and exit 1.
func GetCredentials(s settings.Settings, in io.Reader, stdout, stderr io.Writer) (code int) {
	logx.SetOutput(stderr)
	defer func() {
		// The kubelet logs a failing plugin's stderr: one line, not a trace.
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "%s: internal error (%v): please report it; run with GCRCRED_LOG=debug for detail\n", name, r)
			code = 1
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), s.Limits.Answer())
	defer cancel()
	data, err := stdin.Read(in, kubeletapi.MaxRequestBytes, s.Limits.Stdin(), "a CredentialProviderRequest from the kubelet")
	if err != nil {
		return fail(stderr, err)
	}
	req, err := kubeletapi.ParseRequest(data)
	if err != nil {
		return fail(stderr, err)
	}
	resp, err := Answer(ctx, req, s)
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

// Answer builds the response to req under the settings s (the
// environment, with get-credentials' flags applied): credentials for the
// image's registry host, or an empty auth map for a registry gcrcred does
// not serve.
//
// No credentials at all is an error, not an empty answer: the provider is
// configured on purpose, and the kubelet shows stderr only for a failing
// plugin, so an empty success would hide the problem. Public images still
// pull: on a plugin error the kubelet logs it and pulls with what other
// sources give (anonymous if none), and never caches the failure, so a
// fixed node recovers at the next pull.
func Answer(ctx context.Context, req *kubeletapi.CredentialProviderRequest, s settings.Settings) (*kubeletapi.CredentialProviderResponse, error) {
	resp := kubeletapi.NewResponse(req)
	set, err := registries.FromList(s.Registries)
	if err != nil {
		logx.Warnf("ignoring part of %s: %v", registries.EnvExtra, err)
	}
	if !set.Serves(req.Image) {
		logx.Debugf("the image's registry is not one gcrcred serves (%s); answering with no credentials", registries.EnvExtra)
		return resp, nil
	}
	host := kubeletapi.RegistryOf(req.Image)
	pod, err := podSettings(s)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %v", host, err)
	}
	switch {
	case req.ServiceAccountToken != "" && pod.wiFile != "":
		answered, err := answerForPod(ctx, req, resp, host, pod, s)
		if answered || err != nil {
			return resp, err
		}
	case pod.require:
		return nil, fmt.Errorf("credentials for %s: the request carries no service-account token, and this provider answers only with a pod's own identity (%s=true): check that the kubelet is 1.34 or newer (or has the KubeletServiceAccountTokenForCredentialProviders feature gate) and that its provider config has tokenAttributes (`gcrcred kubelet-config --service-account-audience`)",
			host, podidentity.EnvRequire)
	case req.ServiceAccountToken != "":
		logx.Debugf("the request carries a service-account token, but there is no workload identity configuration (%s): answering with the node's credentials", podidentity.EnvConfig)
	}
	// The kubelet's plugin runs as root for every pull: a node's rules.
	src, err := auth.Discover(auth.Options{Settings: s, Use: credfile.Node})
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

	if s.JSONKey {
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

// podOptions are the per-pod identity settings, from flags and environment.
type podOptions struct {
	wiFile  string
	require bool
	mode    string
	mapping *podidentity.SubjectMapping
}

// podSettings checks the per-pod identity settings of s.
func podSettings(s settings.Settings) (p podOptions, err error) {
	p.wiFile = s.WorkloadIdentity
	if v := s.RequireServiceAccount; v != "" {
		if p.require, err = strconv.ParseBool(v); err != nil {
			return p, fmt.Errorf("%s=%q is neither true nor false", podidentity.EnvRequire, cli.Clip(v, 40))
		}
	}
	if p.require && p.wiFile == "" {
		return p, fmt.Errorf("%s is set but %s is not: a pod's identity needs the workload identity configuration", podidentity.EnvRequire, podidentity.EnvConfig)
	}
	if p.mode, err = podidentity.ParseMode(s.PodIdentity); err != nil {
		return p, fmt.Errorf("%v (%s)", err, podidentity.EnvMode)
	}
	if p.mapping, err = podidentity.ParseSubjectMapping(s.SubjectMapping); err != nil {
		return p, fmt.Errorf("%v (%s)", err, podidentity.EnvSubjectMapping)
	}
	return p, nil
}

// answerForPod answers with a token for the pod's own identity, minted from
// its service-account token (internal/podidentity), unless its service
// account pulls with the node's credentials (annotated mode, no opt-in):
// then it answers nothing (answered false) and the caller goes on, or,
// under require, refuses. The kubelet caches the answer per service account
// (cacheType ServiceAccount: namespace, name, UID and annotations) and
// registry, as cacheKeyType Registry says, at most podidentity.MaxTokenAge.
func answerForPod(ctx context.Context, req *kubeletapi.CredentialProviderRequest, resp *kubeletapi.CredentialProviderResponse, host string, pod podOptions, s settings.Settings) (answered bool, err error) {
	cfg, err := podidentity.ReadConfig(pod.wiFile)
	if err != nil {
		return false, fmt.Errorf("credentials for %s: %v", host, err)
	}
	claims, err := podidentity.ParseToken(req.ServiceAccountToken)
	if err != nil {
		return false, fmt.Errorf("credentials for %s: %v", host, err)
	}
	r := &podidentity.Request{
		Config:      cfg,
		Token:       req.ServiceAccountToken,
		Claims:      claims,
		Annotations: req.ServiceAccountAnnotations,
		Mode:        pod.mode,
		Mapping:     pod.mapping,
		Scopes:      s.Scopes,
		CacheDir:    s.CacheDir,
		Limits:      s.Limits,
	}
	pull, err := r.Pull()
	if err != nil {
		return false, fmt.Errorf("credentials for %s: %v", host, err)
	}
	if pull.Node {
		if pod.require {
			return false, fmt.Errorf("credentials for %s: service account %s has no %s annotation nor %s=true, and this node answers only with a pod's own identity (%s=true): annotate it (`kubectl annotate serviceaccount -n %s %s %s=true`), or install without --require-service-account",
				host, claims, podidentity.AnnotationKey, podidentity.EnableAnnotationKey, podidentity.EnvRequire, claims.Namespace, claims.Name, podidentity.EnableAnnotationKey)
		}
		logx.Debugf("service account %s has no %s annotation nor %s=true (%s=%s): answering with the node's credentials",
			claims, podidentity.AnnotationKey, podidentity.EnableAnnotationKey, podidentity.EnvMode, pod.mode)
		return false, nil
	}
	tok, err := podidentity.Token(ctx, r)
	if err != nil {
		return false, fmt.Errorf("credentials for %s: %v", host, err)
	}
	if tok.AccessToken == req.ServiceAccountToken {
		// The kubelet rejects this for cacheType ServiceAccount; it would
		// also mean an endpoint echoed the token.
		return false, fmt.Errorf("credentials for %s: service account %s: the token endpoint answered with the service-account token itself", host, claims)
	}
	logx.Debugf("token for %s as service account %s expires %s", host, claims, tok.Expiry.Format(time.RFC3339))
	d := min(CacheDuration(tok.Expiry, time.Now()), podidentity.MaxTokenAge)
	resp.SetAuth(host, credfile.TokenUsername, tok.AccessToken, &d)
	return true, nil
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

package podidentity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google/externalaccount"

	"github.com/gcrcred/gcrcred/internal/auth"
	"github.com/gcrcred/gcrcred/internal/cache"
	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/limits"
	"github.com/gcrcred/gcrcred/internal/logx"
	"github.com/gcrcred/gcrcred/internal/settings"
)

// Request is one kubelet request made on behalf of a pod's service account.
type Request struct {
	Config *Config
	// Token is the service-account token: STS's subject token. It is never
	// logged, put in an error, or written anywhere.
	Token       string
	Claims      *Claims
	Annotations map[string]string // the service account's, as the kubelet passed them
	Mode        string            // ModeAnnotated or ModeAll; "": DefaultMode
	Mapping     *SubjectMapping   // the pool provider's google.subject; nil: DefaultSubjectMapping
	Scopes      []string          // of the token to answer with
	CacheDir    string            // the token cache ("": none)
	Limits      limits.Limits     // how long to wait for Google
}

// MaxTokenAge bounds how long a token minted for a pod is used, on disk
// and by the kubelet, whatever Google's answer says: a grant revoked in
// Google takes effect for every pod within it.
const MaxTokenAge = time.Hour

// mapping is r's subject mapping.
func (r *Request) mapping() *SubjectMapping {
	if r.Mapping != nil {
		return r.Mapping
	}
	m, _ := ParseSubjectMapping(DefaultSubjectMapping)
	return m
}

// Principal is the pod's principal in the pool.
func (r *Request) Principal() string { return r.Config.Principal(r.mapping().Subject(r.Claims)) }

// cacheKey keys the disk cache: one entry per configuration (pool
// provider, endpoints), subject mapping, issuer, service account
// (namespace, name, UID), Google service account and scopes, so one
// account's token is never served for another. JSON, so that no field can
// run into the next. Version 2: entries live at most MaxTokenAge.
func (r *Request) cacheKey(target string) string {
	b, _ := json.Marshal([]string{"workload-identity/2", r.Config.digest, r.Config.Audience, r.mapping().String(), r.Claims.Issuer,
		r.Claims.Namespace, r.Claims.Name, r.Claims.UID, target, strings.Join(r.Scopes, " ")})
	return string(b)
}

// Token returns an access token for the pod's identity: from the disk
// cache while one lives long enough, otherwise minted (STS, then IAM
// Credentials if a Google service account is to be impersonated) with the
// retries and budgets of internal/limits, and cached. Google's rules that
// can be checked here are, before any request: the token's expiry and the
// length of its mapped subject. The token returned expires no later than
// the service-account token (as STS's own answer does), nor MaxTokenAge
// after it was minted: its Expiry is what the kubelet may cache it for.
func Token(ctx context.Context, r *Request) (*oauth2.Token, error) {
	if !r.Claims.Expiry.IsZero() && !time.Now().Before(r.Claims.Expiry) {
		// Checked before the cache, so that no cached token is handed out
		// for a token that could no longer get one.
		return nil, fmt.Errorf("service account %s: its token expired at %s: the kubelet renews tokens well before that, so check the node's clock",
			r.Claims, r.Claims.Expiry.UTC().Format(time.RFC3339))
	}
	if err := r.mapping().checkSubject(r.Claims); err != nil {
		return nil, err
	}
	pull, err := r.Pull()
	if err != nil {
		return nil, err
	}
	if pull.Node {
		return nil, fmt.Errorf("service account %s: pulls with the node's credentials, not its own (no %s or %s annotation)", r.Claims, AnnotationKey, EnableAnnotationKey)
	}
	m := &minter{ctx: ctx, r: r, target: pull.Email, from: pull.From}
	if pull.Email != "" {
		logx.Debugf("service account %s (uid %s): pulls as %s (%s)", r.Claims, r.Claims.UID, pull.Email, pull.From)
	} else {
		logx.Debugf("service account %s (uid %s): pulls as %s", r.Claims, r.Claims.UID, r.Principal())
	}
	tok, err := cache.New(r.CacheDir, r.cacheKey(pull.Email), m, r.Limits.LockWait()).Token()
	if err != nil {
		return nil, err
	}
	if exp := r.Claims.Expiry; !exp.IsZero() && tok.Expiry.After(exp) {
		c := *tok
		c.Expiry = exp
		tok = &c
	}
	return tok, nil
}

// minter mints for one request; it keeps the STS token across attempts so
// that a retried IAM call does not exchange the subject token again.
type minter struct {
	ctx          context.Context
	r            *Request
	target, from string
	sts          *oauth2.Token
}

func (m *minter) Token() (*oauth2.Token, error) {
	tok, attempts, err := auth.Retry(m.ctx, m.r.Limits, "service account "+m.r.Claims.String(), m.once)
	if err != nil {
		return nil, fmt.Errorf("service account %s: %s", m.r.Claims, m.describe(attempts, err))
	}
	logx.Debugf("service account %s: minted a token (expires %s)", m.r.Claims, tok.Expiry.Format(time.RFC3339))
	if limit := time.Now().Add(MaxTokenAge); tok.Expiry.IsZero() || tok.Expiry.After(limit) {
		// What goes to the disk cache lives no longer than MaxTokenAge.
		c := *tok
		c.Expiry = limit
		tok = &c
	}
	return tok, nil
}

func (m *minter) once(ctx context.Context, client *http.Client) (*oauth2.Token, error) {
	c := m.r.Config
	if m.sts == nil || time.Until(m.sts.Expiry) < time.Minute {
		scopes := m.r.Scopes
		if m.target != "" {
			scopes = []string{settings.DefaultScope} // what generateAccessToken requires of its caller
		}
		logx.Debugf("service account %s: exchanging its token at %s for pool provider %s", m.r.Claims, host(c.TokenURL), c.Audience)
		// externalaccount wraps a transport error with %v, losing its type:
		// the transport keeps it, so that describe can tell an unreachable
		// STS from a refusal.
		rec := &recordingTransport{base: client.Transport}
		ctx := context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Timeout: client.Timeout, Transport: rec})
		ts, err := externalaccount.NewTokenSource(ctx, externalaccount.Config{
			Audience:             c.Audience,
			SubjectTokenType:     c.SubjectTokenType,
			TokenURL:             c.TokenURL,
			Scopes:               scopes,
			UniverseDomain:       universe,
			SubjectTokenSupplier: subjectToken(m.r.Token),
		})
		if err != nil {
			return nil, auth.Permanent(&stepError{step: stepSTS, err: err})
		}
		tok, err := ts.Token()
		if err != nil {
			if rec.err != nil {
				err = &url.Error{Op: "Post", URL: c.TokenURL, Err: rec.err}
			}
			return nil, &stepError{step: stepSTS, err: err}
		}
		if tok.AccessToken == "" {
			return nil, &stepError{step: stepSTS, err: errors.New("unreadable token reply")}
		}
		m.sts = tok
	}
	if m.target == "" {
		return m.sts, nil
	}
	endpoint := c.GenerateAccessTokenURL(m.target)
	logx.Debugf("service account %s: impersonating %s at %s", m.r.Claims, m.target, host(endpoint))
	tok, err := generateAccessToken(ctx, client, endpoint, m.sts.AccessToken, m.r.Scopes, c.LifetimeSeconds)
	if err != nil {
		return nil, &stepError{step: stepIAM, err: err}
	}
	return tok, nil
}

// recordingTransport keeps the last transport error (no reply at all).
type recordingTransport struct {
	base http.RoundTripper
	err  error
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		t.err = err
	}
	return resp, err
}

// subjectToken hands the request's token to externalaccount.
type subjectToken string

func (s subjectToken) SubjectToken(context.Context, externalaccount.SupplierOptions) (string, error) {
	return string(s), nil
}

const (
	stepSTS = "sts"
	stepIAM = "iam"
)

// stepError says which call failed.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// iamError is IAM Credentials' error reply.
type iamError struct {
	status         int
	state, message string
}

func (e *iamError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.status, e.state, e.message)
}

// Transient tells auth.Retry which replies deserve another attempt.
func (e *iamError) Transient() bool {
	return e.status >= 500 || e.status == http.StatusTooManyRequests || e.status == http.StatusRequestTimeout
}

// generateAccessToken is IAM Credentials' generateAccessToken, called with
// the federated token.
func generateAccessToken(ctx context.Context, client *http.Client, endpoint, bearer string, scopes []string, lifetime int) (*oauth2.Token, error) {
	if lifetime == 0 {
		lifetime = 3600
	}
	body, err := json.Marshal(map[string]any{"scope": scopes, "lifetime": strconv.Itoa(lifetime) + "s"})
	if err != nil {
		return nil, auth.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, auth.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				Message string `json:"message"`
				Status  string `json:"status"`
			} `json:"error"`
		}
		json.Unmarshal(b, &e)
		return nil, &iamError{status: resp.StatusCode, state: e.Error.Status, message: cli.Squeeze(logx.Redact(e.Error.Message), 300)}
	}
	var out struct {
		AccessToken string `json:"accessToken"`
		ExpireTime  string `json:"expireTime"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.AccessToken == "" {
		return nil, errors.New("IAM Credentials returned an unreadable token reply")
	}
	expiry, err := time.Parse(time.RFC3339, out.ExpireTime)
	if err != nil {
		return nil, errors.New("IAM Credentials returned an unreadable token reply (expireTime)")
	}
	return &oauth2.Token{AccessToken: out.AccessToken, TokenType: "Bearer", Expiry: expiry}, nil
}

// stsStatus matches externalaccount's "status code 400: {body}".
var stsStatus = lazyRegexp(`(?s)status code (\d+): (.*)$`)

// describe turns the last error of attempts into one sentence that says
// what failed and what to do, naming endpoints, the provider, the
// principal and the Google service account, never a token.
func (m *minter) describe(attempts int, err error) string {
	c := m.r.Config
	step, endpoint := stepSTS, c.TokenURL
	var se *stepError
	if errors.As(err, &se) && se.step == stepIAM {
		step, endpoint = stepIAM, c.GenerateAccessTokenURL(m.target)
	}
	service := "Google STS (" + host(endpoint) + ")"
	if step == stepIAM {
		service = "IAM Credentials (" + host(endpoint) + ")"
	}
	tries := fmt.Sprintf("after %d attempt(s)", attempts)
	reach := "check that the node's network, DNS and proxy reach " + host(endpoint)

	var ne net.Error
	var ue *url.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() || strings.Contains(err.Error(), "Client.Timeout exceeded"):
		return fmt.Sprintf("%s did not answer within %s (%s): %s", service, m.r.Limits.Attempt(), tries, reach)
	case errors.As(err, &ue):
		return fmt.Sprintf("%s could not be reached %s: %s: %s", service, tries, auth.Sanitize(err, m.r.Limits), reach)
	}

	if step == stepIAM {
		var ie *iamError
		if !errors.As(err, &ie) {
			return fmt.Sprintf("%s %s: %s: %s, then retry", service, tries, auth.Sanitize(err, m.r.Limits), reach)
		}
		switch ie.status {
		case http.StatusForbidden:
			return fmt.Sprintf("%s refused to let %s impersonate %s, named by %s (%s): grant that principal roles/iam.workloadIdentityUser on %s (`gcrcred workload-identity setup-help` shows how)",
				service, m.r.Principal(), m.target, m.from, ie, m.target)
		case http.StatusNotFound:
			return fmt.Sprintf("%s does not know the Google service account %s, named by %s (%s): correct the name or create the account",
				service, m.target, m.from, ie)
		case http.StatusUnauthorized:
			return fmt.Sprintf("%s did not accept the token STS issued (%s): check that token_url in %s is Google's STS", service, ie, c.Path)
		}
		return fmt.Sprintf("%s answered %s %s", service, ie, tries)
	}

	if mm := stsStatus().FindStringSubmatch(err.Error()); mm != nil {
		status, _ := strconv.Atoi(mm[1])
		var body struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		problem := "HTTP " + mm[1]
		if json.Unmarshal([]byte(mm[2]), &body) == nil && body.Error != "" {
			problem = body.Error
			if body.Description != "" {
				problem += ": " + cli.Squeeze(logx.Redact(body.Description), 300)
			}
		}
		if status >= 500 || status == http.StatusTooManyRequests {
			return fmt.Sprintf("%s is failing (%s) %s: retry in a minute", service, problem, tries)
		}
		return fmt.Sprintf("%s refused its token for pool provider %s (%s): check that the provider trusts issuer %q with this cluster's current keys and accepts audience %s (`gcrcred workload-identity setup-help`)",
			service, c.Audience, problem, m.r.Claims.Issuer, strings.Join(m.r.Claims.Audiences, ","))
	}
	return fmt.Sprintf("%s %s: %s: %s, then retry", service, tries, auth.Sanitize(err, m.r.Limits), reach)
}

// host is an endpoint's host for messages.
func host(endpoint string) string {
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
		return u.Host
	}
	return endpoint
}

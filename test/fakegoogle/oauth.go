package fakegoogle

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	grantJWTBearer     = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAccess    = "urn:ietf:params:oauth:token-type:access_token"
	tokenTypeJWT       = "urn:ietf:params:oauth:token-type:jwt"
	tokenTypeIDToken   = "urn:ietf:params:oauth:token-type:id_token"
)

// serveToken is POST /token: the jwt-bearer grant (service-account keys) and
// the refresh_token grant (authorized users).
func (g *Google) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeOAuthError(w, http.StatusMethodNotAllowed, "invalid_request", "POST required")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "unreadable form")
		return
	}
	var (
		subject string
		scopes  []string
	)
	switch r.PostForm.Get("grant_type") {
	case grantJWTBearer:
		sa, scope, err := g.verifyAssertion(r.PostForm.Get("assertion"), requestURL(r))
		if err != nil {
			writeOAuthError(w, http.StatusBadRequest, "invalid_grant", err.Error())
			return
		}
		subject, scopes = sa.email, strings.Fields(scope)
	case "refresh_token":
		u, status, code, err := g.checkRefresh(r)
		if err != nil {
			writeOAuthError(w, status, code, err.Error())
			return
		}
		subject, scopes = u.clientID, strings.Fields(r.PostForm.Get("scope"))
		if len(scopes) == 0 {
			scopes = []string{CloudPlatformScope}
		}
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type")
		return
	}
	tok, _, expiresIn := g.issue(subject, scopes, 0)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"expires_in":   expiresIn,
		"token_type":   "Bearer",
		"scope":        strings.Join(scopes, " "),
	})
}

// requestURL is the URL the client sent r to, which is what a JWT assertion's
// aud must name ("http://127.0.0.1:PORT/token", or
// "https://oauth2.googleapis.com/token" through StartTLS).
func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.Path
}

// jwtHeader and jwtClaims are the parts of a service-account assertion the fake checks.
type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

type jwtClaims struct {
	Iss   string `json:"iss"`
	Scope string `json:"scope"`
	Aud   string `json:"aud"`
	Exp   int64  `json:"exp"`
	Iat   int64  `json:"iat"`
}

// verifyAssertion checks an RS256 JWT assertion as Google does: a registered
// key (by kid, else by iss), a valid signature, aud equal to the token URL,
// a sane iat/exp window of at most an hour, and a scope.
func (g *Google) verifyAssertion(assertion, tokenURL string) (*serviceAccount, string, error) {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return nil, "", errors.New("Invalid JWT: malformed assertion")
	}
	var h jwtHeader
	var c jwtClaims
	if err := decodeSegment(parts[0], &h); err != nil {
		return nil, "", errors.New("Invalid JWT: unreadable header")
	}
	if err := decodeSegment(parts[1], &c); err != nil {
		return nil, "", errors.New("Invalid JWT: unreadable claims")
	}
	if h.Alg != "RS256" {
		return nil, "", errors.New("Invalid JWT: alg must be RS256")
	}

	g.mu.Lock()
	sa := g.sas[c.Iss]
	g.mu.Unlock()
	if sa == nil || sa.key == nil {
		return nil, "", errors.New("Invalid JWT Signature.") // what Google says for unknown keys
	}
	if h.Kid != "" && h.Kid != sa.keyID {
		return nil, "", errors.New("Invalid JWT Signature.")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, "", errors.New("Invalid JWT Signature.")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&sa.key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return nil, "", errors.New("Invalid JWT Signature.")
	}

	if c.Aud != tokenURL {
		return nil, "", errors.New("Invalid JWT: Failed audience check.")
	}
	now := time.Now().Unix()
	const skew = 60
	switch {
	case c.Iat == 0 || c.Exp == 0:
		return nil, "", errors.New("Invalid JWT: iat and exp are required.")
	case c.Iat > now+skew || c.Exp <= now-skew || c.Exp <= c.Iat || c.Exp-c.Iat > 3600:
		return nil, "", errors.New("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
	}
	if strings.TrimSpace(c.Scope) == "" {
		return nil, "", errors.New("Invalid OAuth scope or ID token audience provided.")
	}
	return sa, c.Scope, nil
}

// decodeSegment decodes one base64url JSON part of a JWT into v.
func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// checkRefresh validates a refresh_token grant; the client may authenticate
// in the form or with HTTP Basic auth. On failure it returns the status and
// OAuth error code Google would use.
func (g *Google) checkRefresh(r *http.Request) (u *authorizedUser, status int, code string, err error) {
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if bid, bsecret, ok := r.BasicAuth(); ok {
		// RFC 6749 2.3.1: Basic credentials are form-encoded first.
		id, _ = url.QueryUnescape(bid)
		secret, _ = url.QueryUnescape(bsecret)
	}
	g.mu.Lock()
	u = g.users[id]
	g.mu.Unlock()
	switch {
	case u == nil:
		return nil, http.StatusUnauthorized, "invalid_client", errors.New("The OAuth client was not found.")
	case !equal(secret, u.clientSecret):
		return nil, http.StatusUnauthorized, "invalid_client", errors.New("Unauthorized")
	case !equal(r.PostForm.Get("refresh_token"), u.refreshToken):
		return nil, http.StatusBadRequest, "invalid_grant", errors.New("Token has been expired or revoked.")
	}
	return u, 0, "", nil
}

// serveSTS is POST /sts: an RFC 8693 token exchange of a registered subject token.
func (g *Google) serveSTS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeOAuthError(w, http.StatusMethodNotAllowed, "invalid_request", "POST required")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "unreadable form")
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != grantTokenExchange {
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type")
		return
	}
	if rt := f.Get("requested_token_type"); rt != tokenTypeAccess {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Invalid requested_token_type")
		return
	}
	fed, status, code, err := g.exchangeSubject(f.Get("subject_token"), f.Get("subject_token_type"), f.Get("audience"))
	if err != nil {
		writeOAuthError(w, status, code, err.Error())
		return
	}
	scopes := strings.Fields(f.Get("scope"))
	if len(scopes) == 0 {
		writeOAuthError(w, http.StatusBadRequest, "invalid_scope", "Scope is required.")
		return
	}
	// The federated token lives no longer than the subject token.
	var maxLife time.Duration
	if !fed.expiry.IsZero() {
		maxLife = time.Until(fed.expiry)
	}
	tok, _, expiresIn := g.issueWith(fed.principal, fed.sets, scopes, maxLife)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":      tok,
		"issued_token_type": tokenTypeAccess,
		"token_type":        "Bearer",
		"expires_in":        expiresIn,
	})
}

// exchangeSubject maps a subject token to a principal: a registered opaque
// token (WriteExternalAccount), or a JWT that the pool provider named by
// audience verifies (AddOIDCProvider). On failure it returns the status and
// OAuth error code Google's STS would use.
func (g *Google) exchangeSubject(token, tokenType, audience string) (fed *federated, status int, code string, err error) {
	g.mu.Lock()
	id := g.subjects[token]
	_, isProvider := g.providers[audience]
	g.mu.Unlock()
	switch {
	case id != nil && tokenType != id.tokenType:
		return nil, http.StatusBadRequest, "invalid_request", errors.New("Invalid subject_token_type")
	case id != nil && audience != id.audience:
		return nil, http.StatusBadRequest, "invalid_target", errors.New("The target service indicated by the \"audience\" parameters is invalid.")
	case id != nil:
		return &federated{principal: id.principal}, 0, "", nil
	case isProviderName(audience) && !isProjectNumber(projectOf(audience)):
		return nil, http.StatusBadRequest, "invalid_target", fmt.Errorf("The target service indicated by the \"audience\" parameters is invalid: projects/%s is not a project number.", projectOf(audience))
	case isProvider && tokenType != tokenTypeJWT && tokenType != tokenTypeIDToken:
		return nil, http.StatusBadRequest, "invalid_request", errors.New("Invalid subject_token_type: an OIDC provider takes a JWT.")
	case isProvider:
		f, err := g.verifySubjectToken(audience, token)
		if err != nil {
			return nil, http.StatusBadRequest, "invalid_grant", err
		}
		return f, 0, "", nil
	case isProviderName(audience):
		_, err := g.verifySubjectToken(audience, token) // the "does not exist" message
		return nil, http.StatusBadRequest, "invalid_target", err
	}
	return nil, http.StatusBadRequest, "invalid_grant", errors.New("The given subject token is invalid.")
}

// serveIAM is POST .../serviceAccounts/{email}:generateAccessToken: a caller
// holding a valid token gets a token for a registered service account.
func (g *Google) serveIAM(w http.ResponseWriter, r *http.Request) {
	// /iam/v1/projects/{p}/serviceAccounts/{email}:generateAccessToken, or the
	// same without the /iam prefix (iamcredentials.googleapis.com via StartTLS).
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/iam"), "/v1/projects/")
	_, rest, _ = strings.Cut(rest, "/")
	email, ok := strings.CutPrefix(rest, "serviceAccounts/")
	if ok {
		email, ok = strings.CutSuffix(email, ":generateAccessToken")
	}
	if !ok || email == "" || strings.Contains(email, "/") {
		writeIAMError(w, http.StatusNotFound, "NOT_FOUND", "unknown method")
		return
	}
	if r.Method != http.MethodPost {
		writeIAMError(w, http.StatusMethodNotAllowed, "INVALID_ARGUMENT", "POST required")
		return
	}
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !g.Valid(bearer) {
		writeIAMError(w, http.StatusUnauthorized, "UNAUTHENTICATED",
			"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return
	}
	g.mu.Lock()
	sa := g.sas[email]
	allowed := sa != nil && g.mayImpersonateLocked(g.tokens[bearer], email)
	g.mu.Unlock()
	if sa == nil {
		writeIAMError(w, http.StatusNotFound, "NOT_FOUND", "Not found; Gaia id not found for email "+email)
		return
	}
	if !allowed {
		// Google's answer when the principal lacks roles/iam.workloadIdentityUser.
		writeIAMError(w, http.StatusForbidden, "PERMISSION_DENIED",
			"Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).")
		return
	}
	var req struct {
		Scope    []string `json:"scope"`
		Lifetime string   `json:"lifetime"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		writeIAMError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received.")
		return
	}
	if len(req.Scope) == 0 {
		writeIAMError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Scope required.")
		return
	}
	var lifetime time.Duration
	if req.Lifetime != "" {
		d, err := time.ParseDuration(req.Lifetime)
		if err != nil || !strings.HasSuffix(req.Lifetime, "s") || d <= 0 || d > 12*time.Hour {
			writeIAMError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid value at 'lifetime'")
			return
		}
		lifetime = d
	}
	tok, expiry, _ := g.issue(sa.email, req.Scope, lifetime)
	writeJSON(w, http.StatusOK, map[string]string{
		"accessToken": tok,
		"expireTime":  expiry.UTC().Format(time.RFC3339),
	})
}

// equal compares secrets in constant time.
func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// Package fakegoogle is an in-process stand-in for the Google endpoints that
// gcrcred talks to: the OAuth2 token endpoint, the Security Token Service
// (workload identity federation), the IAM Credentials generateAccessToken call
// and the GCE metadata server.
//
// It is a real HTTP server on 127.0.0.1, so the real golang.org/x/oauth2/google
// and cloud.google.com/go/compute/metadata code runs against it: the credential
// files written by the Write* methods carry token_uri, token_url and
// service_account_impersonation_url values that point at the fake, and the
// metadata server is reached through GCE_METADATA_HOST=MetadataHost().
//
// Endpoints (all on Google.URL):
//
//	POST /token                       OAuth2 token (jwt-bearer and refresh_token grants)  count "token"
//	POST /sts                         RFC 8693 token exchange                             count "sts"
//	                                  (registered opaque subject tokens, and JWTs of the
//	                                  issuers OIDC providers trust: see AddOIDCProvider)
//	POST /iam/v1/projects/-/serviceAccounts/{email}:generateAccessToken                   count "iam"
//	                                  (a principal may impersonate only what it was granted)
//	GET  /computeMetadata/v1/...      metadata server; token requests                     count "metadata"
//	                                  other metadata paths (and GET /)                    count "metadata-other"
//	GET  /_stats                      all counters as JSON
//
// The paths Google itself uses (/oauth2/v4/token, /v1/token for STS,
// /v1/projects/... for IAM) are served too, so that StartTLS can stand in for
// oauth2.googleapis.com, sts.googleapis.com and iamcredentials.googleapis.com.
//
// The package does not import "testing"; it is used by tests and by the
// test/fakeserve program alike. It never logs secrets.
package fakegoogle

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

const (
	// ProjectID is the project of every identity the fake knows, and what the
	// metadata server reports as project-id.
	ProjectID = "fake-project"
	// ProjectNumber is the numeric project used in workload identity audiences.
	ProjectNumber = "123456789012"
	// MetadataEmail is the e-mail of the metadata server's default service
	// account. Tokens from the metadata server have TokenSubject "metadata".
	MetadataEmail = ProjectNumber + "-compute@developer.gserviceaccount.com"
	// MetadataSubject is the TokenSubject of tokens issued by the metadata server.
	MetadataSubject = "metadata"

	// CloudPlatformScope is the scope recorded when a request names none.
	CloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

	defaultLifetime = time.Hour
)

// Fault describes how an endpoint misbehaves; see Google.Fail.
type Fault struct {
	Status  int  // reply with this HTTP status (and an error body)
	Hang    bool // never reply: block until the client goes away or Close
	Garbage bool // reply 200 with a body that is not JSON
	Times   int  // apply to the next Times requests; <= 0 means until cleared
}

func (f Fault) active() bool { return f.Status != 0 || f.Hang || f.Garbage }

// Google is a running fake. Its methods are safe for concurrent use.
type Google struct {
	// URL is the base URL of the fake, "http://127.0.0.1:PORT", no trailing slash.
	URL string

	srv    *http.Server
	closed chan struct{} // closed by Close; releases hanging requests
	once   sync.Once

	mu        sync.Mutex
	counts    map[string]int64
	faults    map[string]Fault
	lifetime  time.Duration
	tokens    map[string]issued          // access token -> what it is
	sas       map[string]*serviceAccount // e-mail -> service account
	users     map[string]*authorizedUser // client_id -> authorized user
	subjects  map[string]*externalIdent  // subject token -> external identity
	providers map[string]*oidcProvider   // pool provider resource name -> provider
	grants    map[string]map[string]bool // service account e-mail -> principals that may impersonate it
	byName    map[string]any             // "kind/name" -> registration, so names are stable
	extra     []func()                   // cleanups of StartTLS listeners
}

// issued is an access token the fake handed out.
type issued struct {
	subject string
	sets    []string // principal sets the subject is in (federated tokens)
	scopes  []string
	expiry  time.Time
}

// members are the identities the token's holder acts as: its subject and
// the principal sets it is in.
func (t issued) members() []string { return append([]string{t.subject}, t.sets...) }

// New starts a fake on 127.0.0.1 with a random port.
func New() (*Google, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakegoogle: listen: %w", err)
	}
	g := &Google{
		URL:       "http://" + ln.Addr().String(),
		closed:    make(chan struct{}),
		counts:    map[string]int64{},
		faults:    map[string]Fault{},
		lifetime:  defaultLifetime,
		tokens:    map[string]issued{},
		sas:       map[string]*serviceAccount{},
		users:     map[string]*authorizedUser{},
		subjects:  map[string]*externalIdent{},
		providers: map[string]*oidcProvider{},
		grants:    map[string]map[string]bool{},
		byName:    map[string]any{},
	}
	g.srv = newServer(g)
	go g.srv.Serve(ln)
	return g, nil
}

// newServer is an http.Server with the timeouts a test server wants: none on
// the handler (Hang must be able to block), but a bound on reading headers.
func newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          quietLogger(),
	}
}

// Close stops the fake and everything StartTLS started, and releases hanging
// requests. It is safe to call more than once.
func (g *Google) Close() {
	g.once.Do(func() {
		close(g.closed)
		g.srv.Close()
		g.mu.Lock()
		extra := g.extra
		g.extra = nil
		g.mu.Unlock()
		for _, f := range extra {
			f()
		}
	})
}

// MetadataHost is the value for GCE_METADATA_HOST: "127.0.0.1:PORT".
func (g *Google) MetadataHost() string { return strings.TrimPrefix(g.URL, "http://") }

// SetTokenLifetime sets the lifetime of tokens issued from now on (the
// expires_in of replies). d <= 0 restores the default of one hour. Lifetimes
// are reported in whole seconds, rounded up, at least one.
func (g *Google) SetTokenLifetime(d time.Duration) {
	if d <= 0 {
		d = defaultLifetime
	}
	g.mu.Lock()
	g.lifetime = d
	g.mu.Unlock()
}

// Valid reports whether accessToken was issued by this fake and has not expired.
func (g *Google) Valid(accessToken string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.tokens[accessToken]
	return ok && time.Now().Before(t.expiry)
}

// TokenSubject says for which identity accessToken was issued: a service
// account e-mail (key files, impersonation, external accounts with
// impersonation), an OAuth client_id (authorized_user), a workload identity
// principal (STS without impersonation) or MetadataSubject. It is "" for a
// token the fake never issued; expiry does not matter.
func (g *Google) TokenSubject(accessToken string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tokens[accessToken].subject
}

// TokenMembers are the identities accessToken acts as: its TokenSubject,
// then, for a federated token, the principal sets its principal is in
// (PoolPrincipalSet, and the pool's principalSet://.../POOL/*); nil for a
// token the fake never issued.
func (g *Google) TokenMembers(accessToken string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.tokens[accessToken]
	if !ok {
		return nil
	}
	return t.members()
}

// TokenScopes returns the scopes accessToken was issued for, nil if unknown.
func (g *Google) TokenScopes(accessToken string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.tokens[accessToken].scopes...)
}

// Count returns how many requests an endpoint has seen since the last
// ResetCounts: "token", "sts", "iam", "metadata" (metadata token requests),
// "metadata-other" (the other metadata paths). Requests answered by a Fault
// are counted too.
func (g *Google) Count(endpoint string) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.counts[endpoint]
}

// ResetCounts sets every counter to zero.
func (g *Google) ResetCounts() {
	g.mu.Lock()
	g.counts = map[string]int64{}
	g.mu.Unlock()
}

// Fail makes the next f.Times requests to endpoint ("token", "sts", "iam" or
// "metadata") misbehave as f says; f.Times <= 0 means until cleared.
// A "metadata" fault applies to every metadata request, including the
// presence probe. Fail(endpoint, Fault{}) clears the fault.
func (g *Google) Fail(endpoint string, f Fault) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !f.active() {
		delete(g.faults, endpoint)
		return
	}
	g.faults[endpoint] = f
}

// issue records and returns a new access token for subject.
func (g *Google) issue(subject string, scopes []string, maxLifetime time.Duration) (token string, expiry time.Time, expiresIn int64) {
	return g.issueWith(subject, nil, scopes, maxLifetime)
}

// issueWith is issue for a subject in principal sets.
func (g *Google) issueWith(subject string, sets, scopes []string, maxLifetime time.Duration) (token string, expiry time.Time, expiresIn int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	life := g.lifetime
	if maxLifetime > 0 && maxLifetime < life {
		life = maxLifetime
	}
	now := time.Now()
	if len(g.tokens) >= 10000 { // keep a long benchmark's memory bounded
		for k, t := range g.tokens {
			if now.After(t.expiry) {
				delete(g.tokens, k)
			}
		}
	}
	token = "ya29.fake-" + randText()
	expiry = now.Add(life)
	g.tokens[token] = issued{subject: subject, sets: sets, scopes: scopes, expiry: expiry}
	return token, expiry, max(1, int64(math.Ceil(life.Seconds())))
}

// ServeHTTP routes a request to an endpoint. Google is its own handler so that
// StartTLS can serve the same endpoints.
func (g *Google) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/_stats":
		g.serveStats(w, r)
	case p == "/" || strings.HasPrefix(p, "/computeMetadata/"):
		g.serveMetadata(w, r)
	case p == "/token" || p == "/oauth2/v4/token":
		g.endpoint("token", w, r, g.serveToken)
	case p == "/sts" || p == "/v1/token":
		g.endpoint("sts", w, r, g.serveSTS)
	case strings.HasPrefix(p, "/iam/v1/projects/") || strings.HasPrefix(p, "/v1/projects/"):
		g.endpoint("iam", w, r, g.serveIAM)
	default:
		http.NotFound(w, r)
	}
}

// endpoint counts the request, applies a fault if one is set, and otherwise
// calls serve.
func (g *Google) endpoint(name string, w http.ResponseWriter, r *http.Request, serve http.HandlerFunc) {
	g.mu.Lock()
	g.counts[name]++
	g.mu.Unlock()
	if g.applyFault(name, w, r) {
		return
	}
	serve(w, r)
}

// applyFault consumes one use of the fault set for endpoint and acts it out.
// It reports whether it answered the request.
func (g *Google) applyFault(endpoint string, w http.ResponseWriter, r *http.Request) bool {
	g.mu.Lock()
	f, ok := g.faults[endpoint]
	if ok && f.Times > 0 {
		f.Times--
		if f.Times == 0 {
			delete(g.faults, endpoint)
		} else {
			g.faults[endpoint] = f
		}
	}
	g.mu.Unlock()
	if !ok {
		return false
	}
	if endpoint == "metadata" {
		w.Header().Set("Metadata-Flavor", "Google")
	}
	switch {
	case f.Hang:
		// The server notices a client that hung up only once the body is read.
		io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		select {
		case <-r.Context().Done():
		case <-g.closed:
		}
	case f.Garbage:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, "<html><body>fakegoogle: injected garbage</body></html>\n")
	default:
		msg := fmt.Sprintf("fakegoogle: injected HTTP %d", f.Status)
		switch endpoint {
		case "iam":
			writeIAMError(w, f.Status, "INTERNAL", msg)
		case "metadata":
			http.Error(w, msg, f.Status)
		default:
			writeOAuthError(w, f.Status, "fault_injected", msg)
		}
	}
	return true
}

// serveStats answers GET /_stats with the counters as a JSON object.
func (g *Google) serveStats(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	counts := make(map[string]int64, len(g.counts))
	for k, v := range g.counts {
		counts[k] = v
	}
	g.mu.Unlock()
	writeJSON(w, http.StatusOK, counts)
}

// writeJSON replies with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeOAuthError replies as Google's OAuth2 and STS endpoints do.
func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// writeIAMError replies as Google's JSON APIs (IAM Credentials) do.
func writeIAMError(w http.ResponseWriter, status int, state, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": status, "message": msg, "status": state}})
}

// randText returns 26 random base32 characters (130 bits).
func randText() string { return rand.Text() }

// quietLogger discards the http.Server's own error log (TLS handshake noise
// from clients that do not trust the CA, and the like).
func quietLogger() *log.Logger { return log.New(io.Discard, "", 0) }

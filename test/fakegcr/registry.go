// Package fakegcr is a container registry that authenticates like gcr.io and
// Artifact Registry: Docker token auth whose token endpoint accepts
// "oauth2accesstoken" with a Google access token from a fakegoogle.Google,
// "_json_key" (or "_json_key_base64") with a service-account key file that
// fakegoogle wrote, or no credentials at all for public repositories.
//
// Authorization: any valid credentials may pull and push, except in
// repositories granted to named identities (Grant), which only those may
// use, as an Artifact Registry repository whose reader role is granted to
// some service accounts or workload identity principals.
//
// Storage and the registry protocol are go-containerregistry's pkg/registry;
// this package only adds the authentication in front of it. It listens on
// plain HTTP on 127.0.0.1, so clients must treat it as insecure
// (name.Insecure for go-containerregistry).
package fakegcr

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gcrcred/gcrcred/test/fakegoogle"
)

// tokenLifetime is how long a registry token lasts (gcr.io: an hour).
const tokenLifetime = time.Hour

// Registry is a running fake registry. Its methods are safe for concurrent use.
type Registry struct {
	g     *fakegoogle.Google
	inner http.Handler // go-containerregistry's registry, without auth
	srv   *http.Server
	host  string

	mu      sync.Mutex
	public  []string            // repository prefixes anyone may pull
	readers map[string][]string // repository prefix -> the only identities that may use it
	tokens  map[string]regToken // registry bearer token -> grant
	counts  map[string]int64    // see Count
}

// regToken is a registry bearer token: for an identity (a service-account
// e-mail, a workload identity principal, whatever fakegoogle.TokenSubject
// says), or anonymous (pull of public repositories only).
type regToken struct {
	anonymous bool
	members   []string // the subject, and the principal sets it is in
	expiry    time.Time
}

// New starts a registry on 127.0.0.1 with a random port that trusts g's tokens
// and service-account keys.
func New(g *fakegoogle.Google) (*Registry, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakegcr: listen: %w", err)
	}
	quiet := log.New(io.Discard, "", 0)
	r := &Registry{
		g:       g,
		inner:   registry.New(registry.Logger(quiet)),
		host:    ln.Addr().String(),
		readers: map[string][]string{},
		tokens:  map[string]regToken{},
		counts:  map[string]int64{},
	}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second, ErrorLog: quiet}
	go r.srv.Serve(ln)
	return r, nil
}

// Host is the registry's "127.0.0.1:PORT", the registry part of image names.
func (r *Registry) Host() string { return r.host }

// Close stops the registry.
func (r *Registry) Close() { r.srv.Close() }

// SetPublic lets anyone pull repositories named repoPrefix or under
// repoPrefix/ (like gcr.io/distroless) without credentials.
func (r *Registry) SetPublic(repoPrefix string) {
	r.mu.Lock()
	r.public = append(r.public, strings.Trim(repoPrefix, "/"))
	r.mu.Unlock()
}

// Grant makes repositories named repoPrefix or under repoPrefix/ usable only
// by the given identities (token subjects as fakegoogle.Google.TokenSubject
// names them: a service-account e-mail, or a principal such as
// fakegoogle.KubernetesPrincipal returns, or a principal set such as
// fakegoogle.PoolPrincipalSet returns); further calls add readers. Other
// valid credentials then get 403 DENIED there. Public repositories stay
// public.
func (r *Registry) Grant(repoPrefix string, readers ...string) {
	p := strings.Trim(repoPrefix, "/")
	r.mu.Lock()
	r.readers[p] = append(r.readers[p], readers...)
	r.mu.Unlock()
}

// Count returns how many times something happened at the token endpoint:
// "token-ok" (credentials accepted), "token-denied" (credentials rejected),
// "anonymous" (token without credentials), and on /v2/: "denied" (a request
// refused for lack of a token or of access) and "forbidden" (an identity
// not granted a repository restricted by Grant).
func (r *Registry) Count(kind string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[kind]
}

func (r *Registry) count(kind string) {
	r.mu.Lock()
	r.counts[kind]++
	r.mu.Unlock()
}

// Push stores a small random image as repo:tag, bypassing authentication,
// and returns its digest ("sha256:...").
func (r *Registry) Push(repo, tag string) (digest string, err error) {
	ref, err := name.ParseReference(r.host+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		return "", err
	}
	img, err := random.Image(1024, 1)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img, remote.WithTransport(handlerTransport{r.inner})); err != nil {
		return "", fmt.Errorf("fakegcr: push %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

// handlerTransport sends requests straight to a handler, in process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	in := req.Clone(req.Context())
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, in)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// ServeHTTP is the registry: the token endpoint, /_stats, and /v2/ behind auth.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch p := req.URL.Path; {
	case p == "/v2/token":
		r.serveToken(w, req)
	case p == "/_stats":
		r.mu.Lock()
		b, _ := json.Marshal(r.counts)
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	case p == "/v2" || strings.HasPrefix(p, "/v2/"):
		if r.authorize(w, req) {
			r.inner.ServeHTTP(w, req)
		}
	default:
		http.NotFound(w, req)
	}
}

// serveToken is GET /v2/token, Docker's token endpoint as gcr.io runs it.
func (r *Registry) serveToken(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet {
		// Docker's OAuth2 POST flow is used only with identity tokens; a 404
		// sends clients back to the GET flow, as the distribution spec says.
		http.NotFound(w, req)
		return
	}
	anonymous := req.Header.Get("Authorization") == ""
	members, ok := r.credentials(req)
	if anonymous {
		r.count("anonymous")
	} else if ok {
		r.count("token-ok")
	} else {
		r.count("token-denied")
		writeErrors(w, http.StatusUnauthorized, "DENIED",
			"Failed to read tokens: no valid credential was supplied")
		return
	}
	tok := "fakegcr-" + rand.Text()
	r.mu.Lock()
	now := time.Now()
	for k, t := range r.tokens { // keep memory bounded in long runs
		if now.After(t.expiry) {
			delete(r.tokens, k)
		}
	}
	r.tokens[tok] = regToken{anonymous: anonymous, members: members, expiry: now.Add(tokenLifetime)}
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"token":        tok,
		"access_token": tok,
		"expires_in":   int(tokenLifetime.Seconds()),
		"issued_at":    now.UTC().Format(time.RFC3339),
	})
}

// credentials checks the HTTP Basic credentials of a token request and
// says whose they are: the identity, and for a federated token the
// principal sets it is in (a grant to principalSet://.../attribute.namespace/NS).
func (r *Registry) credentials(req *http.Request) (members []string, ok bool) {
	user, pass, ok := req.BasicAuth()
	if !ok {
		return nil, false
	}
	one := func(subject string, ok bool) ([]string, bool) { return []string{subject}, ok }
	switch user {
	case "oauth2accesstoken":
		if r.g.Valid(pass) {
			return r.g.TokenMembers(pass), true
		}
	case "_json_key":
		return one(r.g.KeyAccount([]byte(pass)))
	case "_json_key_base64":
		if b, err := base64.StdEncoding.DecodeString(pass); err == nil {
			return one(r.g.KeyAccount(b))
		}
	}
	return nil, false
}

// authorize checks the bearer token of a /v2/ request. When it refuses, it has
// written the 401 with the challenge that points the client at /v2/token.
func (r *Registry) authorize(w http.ResponseWriter, req *http.Request) bool {
	repo := repository(req.URL.Path)
	pull := req.Method == http.MethodGet || req.Method == http.MethodHead

	bearer, _ := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	r.mu.Lock()
	t, ok := r.tokens[bearer]
	ok = ok && time.Now().Before(t.expiry)
	public := r.isPublicLocked(repo)
	granted := public || r.grantedLocked(repo, t.members)
	r.mu.Unlock()

	switch {
	case ok && !t.anonymous && granted:
		return true
	case ok && !t.anonymous:
		r.count("forbidden")
		writeErrors(w, http.StatusForbidden, "DENIED",
			fmt.Sprintf("Permission \"artifactregistry.repositories.downloadArtifacts\" denied on resource %q (or it may not exist)", repo))
		return false
	case ok && pull && (repo == "" && req.URL.Path != "/v2/_catalog" || public):
		return true // anonymous: the version check, and pulls of public repositories
	}
	r.count("denied")
	challenge := fmt.Sprintf(`Bearer realm="http://%s/v2/token",service="%s"`, req.Host, req.Host)
	if repo != "" {
		actions := "pull"
		if !pull {
			actions = "pull,push"
		}
		challenge += fmt.Sprintf(`,scope="repository:%s:%s"`, repo, actions)
	}
	w.Header().Set("WWW-Authenticate", challenge)
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if ok {
		writeErrors(w, http.StatusUnauthorized, "UNAUTHORIZED",
			"You don't have the needed permissions to perform this operation, and you may have invalid credentials.")
	} else {
		writeErrors(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
	}
	return false
}

// grantedLocked reports whether an identity that is members may use repo:
// a repository no Grant covers is open to any valid credentials. Callers
// hold r.mu.
func (r *Registry) grantedLocked(repo string, members []string) bool {
	restricted := false
	for p, readers := range r.readers {
		if repo != p && !strings.HasPrefix(repo, p+"/") {
			continue
		}
		restricted = true
		for _, s := range readers {
			if slices.Contains(members, s) {
				return true
			}
		}
	}
	return !restricted
}

// isPublicLocked reports whether repo is under a SetPublic prefix. Callers hold r.mu.
func (r *Registry) isPublicLocked(repo string) bool {
	for _, p := range r.public {
		if repo == p || strings.HasPrefix(repo, p+"/") {
			return true
		}
	}
	return false
}

// repository extracts the repository name from a /v2/NAME/{manifests,blobs,
// tags,referrers}/... path; "" for /v2/ itself and /v2/_catalog.
func repository(path string) string {
	p := strings.TrimPrefix(path, "/v2")
	at := -1
	for _, m := range []string{"/manifests/", "/blobs/", "/tags/", "/referrers/"} {
		at = max(at, strings.LastIndex(p, m))
	}
	if at <= 0 {
		return ""
	}
	return strings.Trim(p[:at], "/")
}

// writeErrors replies with a registry error body, {"errors":[{code, message}]}.
func writeErrors(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]string{{"code": code, "message": msg}},
	})
}

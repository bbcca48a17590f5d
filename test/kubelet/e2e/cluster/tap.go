package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gcrcred/gcrcred/test/fakegoogle"
)

// secretTap serves the fake Google's endpoints on a listener of its own and
// remembers every secret that crosses it: what clients send (JWT
// assertions, subject tokens, refresh tokens, bearer tokens) and what the
// fake hands out (access tokens). The fake's URL is the tap's, so every
// credential file the fake writes sends its clients through the tap, and a
// test can then look for those exact values in the node's logs.
type secretTap struct {
	g   *fakegoogle.Google
	srv *http.Server

	mu      sync.Mutex
	secrets map[string]string // value -> what it is
}

// startSecretTap puts a tap in front of g and makes g.URL the tap's URL. It
// must run before anything reads g.URL (credential files are written with it).
func startSecretTap(g *fakegoogle.Google) (*secretTap, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t := &secretTap{g: g, secrets: map[string]string{}}
	t.srv = &http.Server{Handler: t, ReadHeaderTimeout: 10 * time.Second}
	go t.srv.Serve(ln)
	g.URL = "http://" + ln.Addr().String()
	return t, nil
}

func (t *secretTap) close() { t.srv.Close() }

func (t *secretTap) add(kind, v string) {
	if len(v) < 16 { // not a secret worth looking for (and would match by chance)
		return
	}
	t.mu.Lock()
	if _, ok := t.secrets[v]; !ok {
		t.secrets[v] = kind
	}
	t.mu.Unlock()
}

func (t *secretTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	if form, err := url.ParseQuery(string(body)); err == nil {
		for _, k := range []string{"assertion", "subject_token", "refresh_token", "client_secret"} {
			if v := form.Get(k); v != "" {
				t.add("request "+k, v)
			}
		}
	}
	if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		t.add("request bearer token", b)
	}
	cw := &captureWriter{ResponseWriter: w}
	t.g.ServeHTTP(cw, r)
	var reply struct {
		AccessToken  string `json:"access_token"`
		AccessToken2 string `json:"accessToken"`
		IDToken      string `json:"id_token"`
	}
	if json.Unmarshal(cw.buf.Bytes(), &reply) == nil {
		t.add("issued access_token", reply.AccessToken)
		t.add("issued accessToken", reply.AccessToken2)
		t.add("issued id_token", reply.IDToken)
	}
}

// captureWriter passes a reply on and keeps a copy of its body (replies of
// the token endpoints are small).
type captureWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if c.buf.Len() < 1<<20 {
		c.buf.Write(b)
	}
	return c.ResponseWriter.Write(b)
}

func (c *captureWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// GoogleSecrets returns every secret that has crossed the fake Google so
// far (subject tokens, assertions, bearer tokens, issued access tokens),
// each with what it is.
func (c *Cluster) GoogleSecrets() map[string]string {
	out := map[string]string{}
	if c.tap == nil {
		return out
	}
	c.tap.mu.Lock()
	defer c.tap.mu.Unlock()
	for k, v := range c.tap.secrets {
		out[k] = v
	}
	return out
}

// SecretLeak is a secret (or a secret's shape) found in a log file.
type SecretLeak struct {
	File string
	What string // what was found, never the secret itself
}

func (l SecretLeak) String() string { return l.File + ": " + l.What }

// journalName stands for the node's journal among the log files.
const journalName = "journal (journalctl -b)"

// FindSecretsInLogs looks through the node's journal (systemd, the kubelet,
// containerd, every unit) and every pod container's log (the control
// plane's too) for each secret the fake Google has seen or issued, and for
// the shapes of such secrets (shapes: substrings such as "eyJ", a JWT's
// start). It names the file and the kind of secret, never the secret. It
// also returns the files it read.
func (c *Cluster) FindSecretsInLogs(ctx context.Context, shapes ...string) (leaks []SecretLeak, files []string, err error) {
	secrets := c.GoogleSecrets()
	pods, _ := globAll("/var/log/pods", ".log")
	files = append([]string{journalName}, pods...)
	for _, f := range files {
		var b []byte
		if f == journalName {
			var j string
			j, err = c.Journal(ctx)
			b = []byte(j)
		} else {
			b, err = readFileIfExists(f)
		}
		if err != nil {
			return nil, files, err
		}
		text := string(b)
		var found []string
		for v, kind := range secrets {
			if strings.Contains(text, v) {
				found = append(found, kind)
			}
		}
		for _, s := range shapes {
			if i := strings.Index(text, s); i >= 0 {
				found = append(found, fmt.Sprintf("%q at byte %d (%s)", s, i, lineAround(text, i)))
			}
		}
		sort.Strings(found)
		for _, w := range found {
			leaks = append(leaks, SecretLeak{File: f, What: w})
		}
	}
	return leaks, files, nil
}

// lineAround is the log line around byte i with anything that looks like a
// token cut out: enough to say which log statement it was.
func lineAround(text string, i int) string {
	start := strings.LastIndexByte(text[:i], '\n') + 1
	end := strings.IndexByte(text[i:], '\n')
	if end < 0 {
		end = len(text)
	} else {
		end += i
	}
	line := text[start:end]
	if j := i - start; j >= 0 && j <= len(line) {
		line = line[:j] + "<cut>"
	}
	if len(line) > 200 {
		line = line[len(line)-200:]
	}
	return line
}

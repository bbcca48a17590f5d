// Package logx is gcrcred's stderr logger. Everything it prints may end up in a
// kubelet event or a CI log, so callers pass only non-secret values; the
// Redact helper exists for the few places where a value of unknown content
// (a server's error body, say) must be shown.
package logx

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
)

// The logger is the process's one stderr: main sets it up once from the
// settings (Setup), the kubelet front end points it at its own stderr.
var (
	mu     sync.Mutex
	out    io.Writer = os.Stderr
	debug  bool
	prefix = "gcrcred: "
)

// Setup sends logs to w, debug ones too when debug is set (GCRCRED_LOG=debug).
func Setup(w io.Writer, on bool) { mu.Lock(); out, debug = w, on; mu.Unlock() }

// SetOutput redirects logs, keeping the debug setting.
func SetOutput(w io.Writer) { mu.Lock(); out = w; mu.Unlock() }

// Debugf logs only with GCRCRED_LOG=debug.
func Debugf(format string, args ...any) {
	mu.Lock()
	on := debug
	mu.Unlock()
	if on {
		printf("debug: "+format, args...)
	}
}

// Warnf always logs: hints the user should see even when things work.
func Warnf(format string, args ...any) { printf(format, args...) }

func printf(format string, args ...any) {
	mu.Lock()
	defer mu.Unlock()
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintln(out, prefix+Redact(strings.TrimRight(msg, "\n")))
}

// secretish matches shapes of secrets: Google access tokens (ya29.), refresh
// tokens (1//), PEM blocks, JWTs (a base64url JSON header, "eyJ", then two
// more segments: Kubernetes service-account tokens, ID tokens, signed
// assertions), and JSON fields that carry secrets.
// Compiled on first use: the warm Docker path never logs and should not pay for it.
var secretish = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`ya29\.[A-Za-z0-9_\-.]+|1//[A-Za-z0-9_\-]+|-----BEGIN [A-Z ]+-----[^-]*-----END [A-Z ]+-----|eyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*|"(access_token|accessToken|id_token|refresh_token|client_secret|private_key|token|assertion|subject_token|serviceAccountToken)"\s*:\s*"[^"]*"`)
})

// Redact removes anything that looks like a credential from s. It is the last
// line of defence; callers still avoid passing secrets in the first place.
func Redact(s string) string {
	return secretish().ReplaceAllStringFunc(s, func(m string) string {
		if i := strings.Index(m, ":"); i > 0 && strings.HasPrefix(m, `"`) {
			return m[:i] + `:"[redacted]"`
		}
		return "[redacted]"
	})
}

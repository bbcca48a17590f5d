// Package endpoint is the one rule for the URLs that credentials and
// workload identity files make gcrcred call with a secret (a signed JWT, a
// refresh token, a subject token, a federated token): https on a Google host
// of a form Google documents for that service, in Google's default universe
// googleapis.com. golang.org/x/oauth2 stopped checking these hosts when it
// learnt universe domains, and gcrcred runs as root in every kubelet, so a
// file naming any other host would send what it reads there. The universe is
// not taken from the file: a file's author could name a domain of their own
// as its universe (x/oauth2 then builds sts.THAT-DOMAIN itself), so every
// universe_domain but googleapis.com is refused (CheckUniverse).
//
// Loopback endpoints (http or https, exactly 127.0.0.1:PORT or [::1]:PORT)
// pass only under the test switch GCRCRED_TEST_LOOPBACK_ENDPOINTS=1, which
// gcrcred's own tests set for their fakes; nothing else relaxes the rule.
package endpoint

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/settings"
)

// EnvTestLoopback is the test switch: "1" also allows loopback endpoints.
// Only tests set it; installers pass it on to a node only when it is set
// where they run.
const EnvTestLoopback = settings.EnvTestLoopback

// testLoopback is the test switch as main read it (SetTestLoopback). It is
// the process's, not a caller's: every check in the process, however deep
// (a credentials file, a kept login, a workload identity configuration),
// holds the same rule. Off unless main turned it on.
var testLoopback atomic.Bool

// SetTestLoopback turns the test switch on or off for the whole process:
// main does, from settings.Settings.TestLoopbackEndpoints; so do in-process
// tests whose fakes are on loopback.
func SetTestLoopback(on bool) { testLoopback.Store(on) }

// TestLoopback reports whether the test switch is on.
func TestLoopback() bool { return testLoopback.Load() }

// DefaultUniverse is Google's public cloud.
const DefaultUniverse = "googleapis.com"

// Service is what an endpoint is for, which decides the host forms allowed.
type Service int

const (
	// OAuth2 is Google's OAuth 2.0 token endpoint (token_uri of service
	// account keys and authorized_user files).
	OAuth2 Service = iota
	// STS is the Security Token Service (token_url, token_info_url,
	// revoke_url of federation files).
	STS
	// IAMCredentials is IAM Credentials (service_account_impersonation_url).
	IAMCredentials
)

// isLabel reports whether s is one lower-case DNS label: a region, a
// location, a Private Service Connect endpoint name. (Matched by hand, not
// with regexp: a compiled pattern would cost every process that reads a
// credentials file, the warm `get` included, a fifth of a millisecond.)
func isLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// forms are the host forms Google documents for each service, with U for
// the universe domain (googleapis.com):
//   - oauth2.U
//   - sts.U, regional sts.LOCATION.rep.U, Private Service Connect sts-NAME.p.U
//   - iamcredentials.U, Private Service Connect iamcredentials-NAME.p.U
var forms = map[Service][]string{
	OAuth2:         {`oauth2.U`},
	STS:            {`sts.U`, `sts.LOCATION.rep.U`, `sts-NAME.p.U`},
	IAMCredentials: {`iamcredentials.U`, `iamcredentials-NAME.p.U`},
}

var names = map[Service]string{OAuth2: "Google's OAuth 2.0 token endpoint", STS: "Google's STS", IAMCredentials: "Google's IAM Credentials"}

// legacyTokenURL is the token endpoint that service-account keys and
// gcloud logins made before 2018 name. It is allowed for token_uri in the
// googleapis.com universe, this exact URL only: such keys never expire and
// Google still serves it, the host is Google's own sign-in host, and
// refusing it would break working keys without keeping anything from
// anyone. No other path on accounts.google.com is a token endpoint.
const legacyTokenURL = "https://accounts.google.com/o/oauth2/token"

// Rule is the rule for service, for messages.
func Rule(s Service) string {
	hosts := make([]string, 0, 3)
	for _, f := range forms[s] {
		hosts = append(hosts, strings.TrimSuffix(f, "U")+DefaultUniverse)
	}
	rule := "must be https on " + orList(hosts)
	if s == OAuth2 {
		rule += " (or the legacy " + legacyTokenURL + ")"
	}
	return rule
}

func orList(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// matchesForm reports whether host (lower case) is of one of s's forms in
// googleapis.com: each label of the form is literal, or LOCATION (any
// label), or ends in -NAME (that prefix, a dash, any label).
func matchesForm(s Service, host string) bool {
	rest, ok := strings.CutSuffix(host, "."+DefaultUniverse)
	if !ok {
		return false
	}
	got := strings.Split(rest, ".")
	for _, f := range forms[s] {
		want := strings.Split(strings.TrimSuffix(f, ".U"), ".")
		if len(want) == len(got) && labelsMatch(want, got) {
			return true
		}
	}
	return false
}

func labelsMatch(want, got []string) bool {
	for i, w := range want {
		switch {
		case w == "LOCATION":
			if !isLabel(got[i]) {
				return false
			}
		case strings.HasSuffix(w, "-NAME"):
			name, ok := strings.CutPrefix(got[i], strings.TrimSuffix(w, "NAME"))
			if !ok || !isLabel(name) {
				return false
			}
		case w != got[i]:
			return false
		}
	}
	return true
}

// Error is a URL that breaks the rule. It names the file, the field, the
// value's host (never the rest of the value) and the rule.
type Error struct {
	What  string // the file, for humans: "credentials file /path"
	Field string // "token_url", "source_credentials.token_uri"
	Host  string
	Rule  string
}

func (e *Error) Error() string {
	host := e.Host
	if host == "" {
		host = "(none)"
	}
	return fmt.Sprintf("%s: %s: host %s is refused: %s", e.What, e.Field, cli.Clip(host, 100), e.Rule)
}

// Check applies the rule to raw, the value of field in the file what,
// for service s.
func Check(what, field, raw string, s Service) error {
	rule := Rule(s)
	fail := func(host, why string) error {
		if why != "" {
			rule = why + "; " + rule
		}
		return &Error{What: what, Field: field, Host: host, Rule: rule + " (the Google endpoint rule)"}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return fail("", "it is not an absolute URL")
	}
	if loopbackLiteral(u.Host) {
		switch {
		case !TestLoopback():
			return fail(u.Host, "loopback endpoints are for gcrcred's own tests only ("+EnvTestLoopback+"=1)")
		case u.Scheme != "http" && u.Scheme != "https":
			return fail(u.Host, "scheme "+cli.Clip(u.Scheme, 20)+" is not http or https")
		case u.User != nil:
			return fail(u.Host, "it carries a user name or password")
		}
		return nil
	}
	switch {
	case u.Scheme != "https":
		return fail(u.Host, "scheme "+cli.Clip(u.Scheme, 20)+" is not https")
	case u.User != nil:
		return fail(u.Host, "it carries a user name or password")
	case u.Port() != "" && u.Port() != "443":
		return fail(u.Host, "port "+cli.Clip(u.Port(), 10)+" is not https's")
	}
	host := u.Hostname()
	if s == OAuth2 && strings.EqualFold(host, "accounts.google.com") &&
		u.Path == "/o/oauth2/token" && u.RawQuery == "" && u.Fragment == "" {
		return nil
	}
	if !matchesForm(s, strings.ToLower(host)) {
		return fail(u.Host, "it is not "+names[s])
	}
	return nil
}

// loopbackLiteral reports whether hostport is exactly 127.0.0.1:PORT or
// [::1]:PORT: not another 127/8 address, not localhost (names resolve
// through files and servers a test does not control).
func loopbackLiteral(hostport string) bool {
	var port string
	switch {
	case strings.HasPrefix(hostport, "127.0.0.1:"):
		port = strings.TrimPrefix(hostport, "127.0.0.1:")
	case strings.HasPrefix(hostport, "[::1]:"):
		port = strings.TrimPrefix(hostport, "[::1]:")
	default:
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n > 0 && n < 65536 && strconv.Itoa(n) == port
}

// UniverseRule is why any universe_domain but googleapis.com is refused.
const UniverseRule = "gcrcred sends credentials only to Google's default universe " + DefaultUniverse

// CheckUniverse checks the universe_domain value u of field in the file
// what: absent ("") or googleapis.com, nothing else. A file's universe
// decides the hosts x/oauth2 sends its secrets to (sts.UNIVERSE when
// token_url is absent, say), and the file's author chooses it.
func CheckUniverse(what, field, u string) error {
	if u == "" || u == DefaultUniverse {
		return nil
	}
	return fmt.Errorf("%s: %s %q is refused: %s", what, field, cli.Clip(u, 100), UniverseRule)
}

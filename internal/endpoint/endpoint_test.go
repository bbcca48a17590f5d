package endpoint

import (
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/internal/settings"
)

func TestGoogleHostsPass(t *testing.T) {
	setLoopback(t, false)
	for _, c := range []struct {
		url      string
		s        Service
		universe string
	}{
		{"https://oauth2.googleapis.com/token", OAuth2, ""},
		{"https://OAuth2.GoogleAPIs.com/token", OAuth2, ""},
		{"https://oauth2.googleapis.com:443/token", OAuth2, ""},
		{"https://accounts.google.com/o/oauth2/token", OAuth2, ""},
		{"https://sts.googleapis.com/v1/token", STS, ""},
		{"https://sts.googleapis.com/v1/introspect", STS, "googleapis.com"},
		{"https://sts.europe-west3.rep.googleapis.com/v1/token", STS, ""},
		{"https://sts-myendpoint.p.googleapis.com/v1/token", STS, ""},
		{"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a@p.iam.gserviceaccount.com:generateAccessToken", IAMCredentials, ""},
		{"https://iamcredentials-myendpoint.p.googleapis.com/v1/x", IAMCredentials, ""},
		{"https://oauth2.example-universe.goog/token", OAuth2, "example-universe.goog"},
		{"https://sts.example-universe.goog/v1/token", STS, "example-universe.goog"},
		{"https://sts.u1.rep.example-universe.goog/v1/token", STS, "example-universe.goog"},
		{"https://iamcredentials.example-universe.goog/v1/x", IAMCredentials, "example-universe.goog"},
	} {
		if err := Check("f", "field", c.url, c.s, c.universe); err != nil {
			t.Errorf("%s refused: %v", c.url, err)
		}
	}
}

func TestEverythingElseIsRefused(t *testing.T) {
	setLoopback(t, false)
	for _, c := range []struct {
		url      string
		s        Service
		universe string
		why      string
	}{
		{"http://oauth2.googleapis.com/token", OAuth2, "", "scheme http is not https"},
		{"https://oauth2.googleapis.com:8443/token", OAuth2, "", "port 8443"},
		{"https://u:p@oauth2.googleapis.com/token", OAuth2, "", "user name or password"},
		{"https://oauth2.googleapis.com.evil.example/token", OAuth2, "", "not Google's OAuth 2.0"},
		{"https://evil-oauth2.googleapis.com/token", OAuth2, "", "not Google's OAuth 2.0"},
		{"https://oauth2.googleapis.com./token", OAuth2, "", "not Google's OAuth 2.0"},
		{"https://sts.googleapis.com/token", OAuth2, "", "not Google's OAuth 2.0"},
		{"https://accounts.google.com/o/oauth2/token", OAuth2, "example-universe.goog", "not Google's OAuth 2.0"},
		{"https://accounts.google.com/elsewhere", OAuth2, "", "not Google's OAuth 2.0"},
		{"https://accounts.google.com/o/oauth2/token", STS, "", "not Google's STS"},
		{"https://oauth2.googleapis.com/token", STS, "", "not Google's STS"},
		{"https://sts.a.b.rep.googleapis.com/v1/token", STS, "", "not Google's STS"},
		{"https://sts-.p.googleapis.com/v1/token", STS, "", "not Google's STS"},
		{"https://sts.googleapis.com/v1/token", STS, "example-universe.goog", "not Google's STS"},
		{"https://sts.googleapis.com/v1/token", IAMCredentials, "", "not Google's IAM Credentials"},
		{"https://iamcredentials.googleapis.com%2eevil.example/v1/x", IAMCredentials, "", ""},
		{"https://evil.example/v1/token", STS, "", "not Google's STS"},
		{"https://[::1]/v1/token", STS, "", "not Google's STS"},
		{"http://127.0.0.1:8080/v1/token", STS, "", "for gcrcred's own tests only (" + EnvTestLoopback + "=1)"},
		{"http://[::1]:8080/v1/token", STS, "", "for gcrcred's own tests only"},
		{"http://127.0.0.2:8080/v1/token", STS, "", "scheme http is not https"},
		{"http://localhost:8080/v1/token", STS, "", "scheme http is not https"},
		{"/v1/token", STS, "", "not an absolute URL"},
		{"sts.googleapis.com/v1/token", STS, "", "not an absolute URL"},
		{"", STS, "", "not an absolute URL"},
	} {
		err := Check("credentials file f.json", "token_url", c.url, c.s, c.universe)
		if err == nil {
			t.Errorf("%s accepted as %v in %q", c.url, c.s, c.universe)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "credentials file f.json: token_url: host ") || !strings.Contains(msg, "(the Google endpoint rule)") || !strings.Contains(msg, c.why) {
			t.Errorf("%s: %q does not name the file, field, host, rule and %q", c.url, msg, c.why)
		}
	}
}

// The test switch lets exactly 127.0.0.1:PORT and [::1]:PORT through,
// over http or https, and nothing else.
func TestTestSwitch(t *testing.T) {
	setLoopback(t, true)
	for _, ok := range []string{"http://127.0.0.1:8080/token", "https://127.0.0.1:8443/token", "http://[::1]:8080/token"} {
		if err := Check("f", "token_uri", ok, OAuth2, ""); err != nil {
			t.Errorf("%s under the switch: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://127.0.0.2:8080/token", "http://localhost:8080/token", "http://127.0.0.1/token",
		"http://127.0.0.1:0/token", "http://127.0.0.1:08080/token", "http://127.1:8080/token", "ftp://127.0.0.1:21/token",
		"http://u@127.0.0.1:8080/token", "http://[::ffff:127.0.0.1]:8080/token", "http://0.0.0.0:8080/token"} {
		if err := Check("f", "token_uri", bad, OAuth2, ""); err == nil {
			t.Errorf("%s accepted under the switch", bad)
		}
	}
	for _, v := range []string{"true", "yes", "0", " 1"} {
		SetTestLoopback(settings.Parse([]string{EnvTestLoopback + "=" + v}, settings.Host{}).TestLoopbackEndpoints)
		if err := Check("f", "token_uri", "http://127.0.0.1:8080/token", OAuth2, ""); err == nil {
			t.Errorf("%s=%q turned the switch on", EnvTestLoopback, v)
		}
	}
}

func TestCheckUniverse(t *testing.T) {
	for _, ok := range []string{"", "googleapis.com", "example-universe.goog", "a.b.c.example"} {
		if err := CheckUniverse("f", "universe_domain", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"com", "127.0.0.1", "GOOGLEAPIS.COM", "googleapis.com.", ".googleapis.com", "evil.example/x", "a b.com", "evil.example:443", "-a.com"} {
		if err := CheckUniverse("f", "universe_domain", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// setLoopback sets the test switch for one test.
func setLoopback(t *testing.T, on bool) {
	was := TestLoopback()
	SetTestLoopback(on)
	t.Cleanup(func() { SetTestLoopback(was) })
}

package endpoint

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/internal/settings"
)

func TestGoogleHostsPass(t *testing.T) {
	setLoopback(t, false)
	for _, c := range []struct {
		url string
		s   Service
	}{
		{"https://oauth2.googleapis.com/token", OAuth2},
		{"https://OAuth2.GoogleAPIs.com/token", OAuth2},
		{"https://oauth2.googleapis.com:443/token", OAuth2},
		{"https://accounts.google.com/o/oauth2/token", OAuth2},
		{"https://sts.googleapis.com/v1/token", STS},
		{"https://sts.googleapis.com/v1/introspect", STS},
		{"https://sts.europe-west3.rep.googleapis.com/v1/token", STS},
		{"https://sts-myendpoint.p.googleapis.com/v1/token", STS},
		{"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a@p.iam.gserviceaccount.com:generateAccessToken", IAMCredentials},
		{"https://iamcredentials-myendpoint.p.googleapis.com/v1/x", IAMCredentials},
	} {
		if err := Check("f", "field", c.url, c.s); err != nil {
			t.Errorf("%s refused: %v", c.url, err)
		}
	}
}

func TestEverythingElseIsRefused(t *testing.T) {
	setLoopback(t, false)
	for _, c := range []struct {
		url string
		s   Service
		why string
	}{
		{"http://oauth2.googleapis.com/token", OAuth2, "scheme http is not https"},
		{"https://oauth2.googleapis.com:8443/token", OAuth2, "port 8443"},
		{"https://u:p@oauth2.googleapis.com/token", OAuth2, "user name or password"},
		{"https://oauth2.googleapis.com.evil.example/token", OAuth2, "not Google's OAuth 2.0"},
		{"https://evil-oauth2.googleapis.com/token", OAuth2, "not Google's OAuth 2.0"},
		{"https://oauth2.googleapis.com./token", OAuth2, "not Google's OAuth 2.0"},
		{"https://sts.googleapis.com/token", OAuth2, "not Google's OAuth 2.0"},
		{"https://accounts.google.com/elsewhere", OAuth2, "not Google's OAuth 2.0"},
		{"https://accounts.google.com/o/oauth2/token", STS, "not Google's STS"},
		{"https://oauth2.googleapis.com/token", STS, "not Google's STS"},
		{"https://sts.a.b.rep.googleapis.com/v1/token", STS, "not Google's STS"},
		{"https://sts-.p.googleapis.com/v1/token", STS, "not Google's STS"},
		{"https://sts.example-universe.goog/v1/token", STS, "not Google's STS"},
		{"https://oauth2.evil.example/token", OAuth2, "not Google's OAuth 2.0"},
		{"https://sts.googleapis.com/v1/token", IAMCredentials, "not Google's IAM Credentials"},
		{"https://iamcredentials.googleapis.com%2eevil.example/v1/x", IAMCredentials, ""},
		{"https://evil.example/v1/token", STS, "not Google's STS"},
		{"https://[::1]/v1/token", STS, "not Google's STS"},
		{"http://127.0.0.1:8080/v1/token", STS, "for gcrcred's own tests only (" + EnvTestLoopback + "=1)"},
		{"http://[::1]:8080/v1/token", STS, "for gcrcred's own tests only"},
		{"http://127.0.0.2:8080/v1/token", STS, "scheme http is not https"},
		{"http://localhost:8080/v1/token", STS, "scheme http is not https"},
		{"/v1/token", STS, "not an absolute URL"},
		{"sts.googleapis.com/v1/token", STS, "not an absolute URL"},
		{"", STS, "not an absolute URL"},
	} {
		err := Check("credentials file f.json", "token_url", c.url, c.s)
		if err == nil {
			t.Errorf("%s accepted as %v", c.url, c.s)
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
		if err := Check("f", "token_uri", ok, OAuth2); err != nil {
			t.Errorf("%s under the switch: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://127.0.0.2:8080/token", "http://localhost:8080/token", "http://127.0.0.1/token",
		"http://127.0.0.1:0/token", "http://127.0.0.1:08080/token", "http://127.1:8080/token", "ftp://127.0.0.1:21/token",
		"http://u@127.0.0.1:8080/token", "http://[::ffff:127.0.0.1]:8080/token", "http://0.0.0.0:8080/token"} {
		if err := Check("f", "token_uri", bad, OAuth2); err == nil {
			t.Errorf("%s accepted under the switch", bad)
		}
	}
	for _, v := range []string{"true", "yes", "0", " 1"} {
		SetTestLoopback(settings.Parse([]string{EnvTestLoopback + "=" + v}, settings.Host{}).TestLoopbackEndpoints)
		if err := Check("f", "token_uri", "http://127.0.0.1:8080/token", OAuth2); err == nil {
			t.Errorf("%s=%q turned the switch on", EnvTestLoopback, v)
		}
	}
}

// Only Google's default universe is taken, under the test switch too: the
// file's author chooses its universe, and x/oauth2 builds hosts from it.
func TestCheckUniverse(t *testing.T) {
	for _, on := range []bool{false, true} {
		setLoopback(t, on)
		for _, ok := range []string{"", "googleapis.com"} {
			if err := CheckUniverse("f", "universe_domain", ok); err != nil {
				t.Errorf("%q: %v", ok, err)
			}
		}
		for _, bad := range []string{"evil.example", "example-universe.goog", "GOOGLEAPIS.COM", "googleapis.com.", "googleapis.com.evil.example", "com", "127.0.0.1", "evil.example:443", " googleapis.com"} {
			err := CheckUniverse("credentials file f.json", "universe_domain", bad)
			if err == nil || err.Error() != "credentials file f.json: universe_domain "+strconv.Quote(bad)+" is refused: gcrcred sends credentials only to Google's default universe googleapis.com" {
				t.Errorf("%q (switch %v): %v", bad, on, err)
			}
		}
	}
}

// setLoopback sets the test switch for one test.
func setLoopback(t *testing.T, on bool) {
	was := TestLoopback()
	SetTestLoopback(on)
	t.Cleanup(func() { SetTestLoopback(was) })
}

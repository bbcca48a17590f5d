package auth

import (
	"errors"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/internal/limits"
)

// A secret that straddles the 300-byte cut is redacted whole: Sanitize
// redacts before it shortens, so no first half of a key or token shows.
func TestSanitizeRedactsBeforeItShortens(t *testing.T) {
	const body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7secretkeymaterial"
	pem := "-----BEGIN PRIVATE KEY-----\n" + body + "\n-----END PRIVATE KEY-----"
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YTpwdWxsZXIifQ.c2lnbmF0dXJlc2VjcmV0"
	for _, c := range []struct{ name, secret, fragment string }{
		{"PEM block", pem, "MIIEvQIBADANBgkq"},
		{"JWT", jwt, "eyJzdWIiOiJzeXN0"},
	} {
		// The secret starts 50 bytes before the cut.
		msg := strings.Repeat("a", 250) + c.secret + " and then some"
		got := Sanitize(errors.New(msg), limits.Limits{})
		if strings.Contains(got, c.fragment) || strings.Contains(got, "BEGIN PRIVATE") || strings.Contains(got, "eyJ") {
			t.Errorf("%s cut at 300: part of it shows: %q", c.name, got[240:])
		}
		if !strings.Contains(got, "[redacted]") || len(got) > 303 {
			t.Errorf("%s: %q is not the redacted message, shortened", c.name, got[240:])
		}
	}
}

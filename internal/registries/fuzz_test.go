package registries

import (
	"strings"
	"testing"
)

// FuzzHost: whatever Host accepts is plain host[:port] text, the same text
// again when given back, and every host served is one the defaults match.
// The seed corpus runs in every `go test`; `go test -fuzz FuzzHost` explores.
func FuzzHost(f *testing.F) {
	for _, s := range []string{
		"gcr.io", "https://gcr.io/v2/", "us-docker.pkg.dev/p/r/i@sha256:00", "evil.com@gcr.io",
		"https://gcr.io\\@evil.com", "gcr%2eio", "gcr.io\x00", "127.0.0.1:5000", "HTTP://A.GCR.IO:1/x",
		"[::1]:80", "gcr.io:65536", "", "://", "a.b.c.d.e.f", "docker.us-central1.rep.pkg.dev",
	} {
		f.Add(s)
	}
	served := With(nil)
	f.Fuzz(func(t *testing.T, s string) {
		h := Host(s)
		if h == "" {
			if served.Serves(s) {
				t.Fatalf("%q has no valid host but is served", s)
			}
			return
		}
		if strings.ContainsAny(h, "@\\%/?# \t\r\n") || strings.ToLower(h) != h {
			t.Fatalf("Host(%q) = %q: not plain host[:port]", s, h)
		}
		if Host(h) != h {
			t.Fatalf("Host(%q) = %q, but Host(%q) = %q", s, h, h, Host(h))
		}
		if served.Serves(s) != served.Serves(h) {
			t.Fatalf("Serves(%q) and Serves(%q) disagree", s, h)
		}
	})
}

// FuzzCheckPattern: an accepted pattern never matches a host under a public
// suffix it does not name, and is stable.
func FuzzCheckPattern(f *testing.F) {
	for _, s := range []string{"*", "*.com", "*.corp.example.com", "registry.example.com:*", "a*.b", "*.co.uk", "x.*.y.z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := CheckPattern(s)
		if err != nil {
			return
		}
		if again, err := CheckPattern(p); err != nil || again != p {
			t.Fatalf("CheckPattern(%q) = %q, then %q, %v", s, p, again, err)
		}
		if IsPattern(p) && (Match(p, "example.com") && Match(p, "other-org.com")) {
			t.Fatalf("pattern %q from %q matches two organisations' hosts", p, s)
		}
	})
}

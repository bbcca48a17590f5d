package registries

import (
	"strings"
	"testing"
)

func extra(t *testing.T, list string) Set {
	t.Helper()
	p, err := ParseList(list)
	if err != nil {
		t.Fatal(err)
	}
	return With(p)
}

func TestServes(t *testing.T) {
	s := extra(t, "registry.example.com, 127.0.0.1:5000, *.corp.internal")
	cases := map[string]bool{
		"gcr.io":                         true,
		"https://gcr.io":                 true,
		"https://gcr.io/v2/":             true,
		"HTTPS://gcr.io/":                true,
		"gcr.io/proj/img:tag":            true,
		"gcr.io/proj/img@sha256:abc":     true,
		" gcr.io\n":                      true,
		"us.gcr.io":                      true,
		"EU.GCR.IO":                      true,
		"us-docker.pkg.dev":              true,
		"europe-west1-docker.pkg.dev":    true,
		"docker.us-central1.rep.pkg.dev": true,
		"container.cloud.google.com":     true,
		"registry.example.com":           true,
		"127.0.0.1:5000":                 true,
		"http://127.0.0.1:5000/v2/":      true,
		"a.corp.internal":                true,
		"https://index.docker.io/v1/":    false,
		"docker.io":                      false,
		"ghcr.io":                        false,
		"gcr.io.evil.com":                false,
		"evilgcr.io":                     false,
		"a.b.gcr.io":                     false,
		"pkg.dev":                        false,
		"gcr.io:443":                     false,
		"127.0.0.1:5001":                 false,
		"":                               false,
		"quay.io/gcr.io":                 false,
		"us-central1.rep.pkg.dev":        false, // four labels: neither *.pkg.dev nor docker.*.rep.pkg.dev
		// Held to the letter: nothing that a URL parser might read as
		// another host, or as gcr.io when it is not.
		"https://evil.com@gcr.io":   false,
		"evil.com@gcr.io":           false,
		"https://gcr.io@evil.com":   false,
		"https://gcr.io\\@evil.com": false,
		"gcr.io\\evil.com":          false,
		"gcr%2eio":                  false,
		"https://gcr%2Eio/":         false,
		"gcr.io%00":                 false,
		"gcr.io\x00.evil.com":       false,
		"gcr.io\t.evil.com":         false,
		"gcr.io:":                   false,
		"gcr.io:99999":              false,
		"gcr.io:44a":                false,
		"ftp://gcr.io":              false,
		"://gcr.io":                 false,
		"gcr..io":                   false,
		".gcr.io":                   false,
		"gcr.io?x=1":                false,
		"gcr.io#frag":               false,
		"[::1]:5000":                false,
		"us.gcr.io:5000@gcr.io":     false,
	}
	for in, want := range cases {
		if got := s.Serves(in); got != want {
			t.Errorf("Serves(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestHost(t *testing.T) {
	for in, want := range map[string]string{
		"https://gcr.io/v2/":          "gcr.io",
		"gcr.io":                      "gcr.io",
		" gcr.io\n":                   "gcr.io",
		"us.gcr.io/p/i@sha256:abc":    "us.gcr.io",
		"http://127.0.0.1:5000/v2/":   "127.0.0.1:5000",
		"https://index.docker.io/v1/": "index.docker.io",
		"https://user@gcr.io":         "",
		"gcr.io\\x":                   "",
	} {
		if got := Host(in); got != want {
			t.Errorf("Host(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckPattern(t *testing.T) {
	ok := map[string]string{
		"corp.example.com":              "corp.example.com",
		"*.corp.example.com":            "*.corp.example.com",
		"*.example.com":                 "*.example.com",
		"registry-*.example.co.uk":      "registry-*.example.co.uk",
		"https://Registry.Example.com/": "registry.example.com",
		"127.0.0.1:5000":                "127.0.0.1:5000",
		"registry.example.com:*":        "registry.example.com:*",
		"*.svc.cluster.local":           "*.svc.cluster.local",
		"com":                           "com", // one host, however odd
	}
	for in, want := range ok {
		got, err := CheckPattern(in)
		if err != nil || got != want {
			t.Errorf("CheckPattern(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	refused := map[string]string{
		"*":                      "matches every host",
		"*.*":                    "matches every host",
		"*.com":                  "public suffix \"com\"",
		"*.co.uk":                "public suffix \"co.uk\"",
		"*.github.io":            "public suffix \"github.io\"",
		"corp.*.com":             "public suffix \"com\"",
		"a*.com":                 "public suffix \"com\"",
		"10.0.0.*":               "matches every host",
		"*.local":                "public suffix \"local\"",
		"gcr.io/my-project":      "repository path",
		"evil.com@gcr.io":        "bad label",
		"registry.example.com:x": "bad port",
		"bad_label.example.com":  "bad label",
	}
	for in, want := range refused {
		_, err := CheckPattern(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckPattern(%q) = %v, want an error containing %q", in, err, want)
		}
	}
}

func TestFromListServesTheGoodAndNamesTheRefused(t *testing.T) {
	s, err := FromList("*.com, registry.example.com")
	if err == nil || !strings.Contains(err.Error(), "*.com") {
		t.Fatalf("err = %v", err)
	}
	if !s.Serves("registry.example.com") || s.Serves("anything.com") || !s.Serves("gcr.io") {
		t.Fatalf("set %v", s)
	}
}

func BenchmarkServes(b *testing.B) {
	s := With([]string{"registry.example.com"})
	for i := 0; i < b.N; i++ {
		s.Serves("https://europe-west1-docker.pkg.dev/v2/")
	}
}

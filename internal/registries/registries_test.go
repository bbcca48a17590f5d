package registries

import "testing"

func TestServes(t *testing.T) {
	s := With([]string{"registry.example.com", "127.0.0.1:5000", "*.corp.internal"})
	cases := map[string]bool{
		"gcr.io":                         true,
		"https://gcr.io":                 true,
		"https://gcr.io/v2/":             true,
		"gcr.io/proj/img:tag":            true,
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
	}
	// Four labels: neither *.pkg.dev nor docker.*.rep.pkg.dev.
	cases["us-central1.rep.pkg.dev"] = false
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
	} {
		if got := Host(in); got != want {
			t.Errorf("Host(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkServes(b *testing.B) {
	s := With([]string{"registry.example.com"})
	for i := 0; i < b.N; i++ {
		s.Serves("https://europe-west1-docker.pkg.dev/v2/")
	}
}

package kubeletapi

import (
	"strings"
	"testing"
	"time"
)

func TestParseRequestRefusesWhatIsNotARequest(t *testing.T) {
	v1 := `"apiVersion":"credentialprovider.kubelet.k8s.io/v1"`
	kind := `"kind":"CredentialProviderRequest"`
	cases := []struct{ name, in, want string }{
		{"empty", "", "empty request"},
		{"blank", " \n\t", "empty request"},
		{"open brace", "{", "not valid JSON (truncated)"},
		{"array", "[]", "JSON array"},
		{"string", `"gcr.io/p/i"`, "not a JSON object"},
		{"trailing garbage", `{` + v1 + `,` + kind + `,"image":"gcr.io/p/i"} x`, "syntax error at byte"},
		{"wrong type", `{` + v1 + `,` + kind + `,"image":5}`, `field "image" has the wrong type`},
		{"no apiVersion", `{` + kind + `,"image":"gcr.io/p/i"}`, "no apiVersion"},
		{"unknown apiVersion", `{"apiVersion":"credentialprovider.kubelet.k8s.io/v2",` + kind + `,"image":"gcr.io/p/i"}`, `apiVersion "credentialprovider.kubelet.k8s.io/v2" is not supported`},
		{"other group", `{"apiVersion":"v1",` + kind + `,"image":"gcr.io/p/i"}`, "is not supported"},
		{"no kind", `{` + v1 + `,"image":"gcr.io/p/i"}`, "no kind"},
		{"wrong kind", `{` + v1 + `,"kind":"CredentialProviderResponse","image":"gcr.io/p/i"}`, `kind is "CredentialProviderResponse"`},
		{"no image", `{` + v1 + `,` + kind + `}`, "empty image"},
		{"blank image", `{` + v1 + `,` + kind + `,"image":"  "}`, "empty image"},
	}
	for _, c := range cases {
		_, err := ParseRequest([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestParseRequestAcceptsEveryVersionAndServiceAccountFields(t *testing.T) {
	for _, v := range APIVersions {
		in := `{"kind":"CredentialProviderRequest","apiVersion":"` + v + `","image":"gcr.io/p/i",` +
			`"serviceAccountToken":"sa-token","serviceAccountAnnotations":{"a":"b"},"futureField":1}`
		req, err := ParseRequest([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if req.APIVersion != v || req.Image != "gcr.io/p/i" {
			t.Fatalf("%s: decoded %+v", v, req)
		}
	}
}

func TestReadRequestCapsSize(t *testing.T) {
	big := strings.NewReader(`{"image":"` + strings.Repeat("a", 16<<20) + `"}`)
	_, err := ReadRequest(big)
	if err == nil || !strings.Contains(err.Error(), "larger than 1024 KiB") {
		t.Fatalf("16 MiB request: got %v", err)
	}
}

func TestReadLimitedGivesUpOnSilentStdin(t *testing.T) {
	never := blockingReader{}
	start := time.Now()
	_, err := readLimited(never, 10, 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "no request on stdin") || time.Since(start) > 2*time.Second {
		t.Fatalf("got %v after %s", err, time.Since(start))
	}
}

type blockingReader struct{}

func (blockingReader) Read([]byte) (int, error) { select {} }

func TestCacheDuration(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		left, want time.Duration
	}{
		{time.Hour, 55 * time.Minute},
		{time.Hour - 300*time.Millisecond, 54*time.Minute + 59*time.Second}, // truncated, never longer
		{10 * time.Minute, 5 * time.Minute},
		{5 * time.Minute, 0},
		{time.Minute, 0},
		{-time.Minute, 0}, // expired: never negative
	}
	for _, c := range cases {
		if got := CacheDuration(now.Add(c.left), now); got != c.want {
			t.Errorf("token with %s left: cacheDuration %s, want %s", c.left, got, c.want)
		}
	}
}

func TestRegistryOfCutsLikeTheKubelet(t *testing.T) {
	for image, want := range map[string]string{
		"gcr.io/proj/img:tag":                          "gcr.io",
		"us-docker.pkg.dev/p/r/i@sha256:00":            "us-docker.pkg.dev",
		"localhost:5000/img":                           "localhost:5000",
		"EU.GCR.IO/proj/img":                           "EU.GCR.IO",
		"docker.us-central1.rep.pkg.dev/proj/repo/img": "docker.us-central1.rep.pkg.dev",
		"nginx": "nginx",
	} {
		if got := RegistryOf(image); got != want {
			t.Errorf("RegistryOf(%q) = %q, want %q", image, got, want)
		}
	}
}

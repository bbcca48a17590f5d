package kubeletapi

import (
	"encoding/json"
	"strings"
	"testing"
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

// FuzzParseRequest: any input gives a request or an error, never a panic,
// and an accepted request is a known version with an image. The seed corpus
// runs in every `go test`.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"gcr.io/p/i"}`,
		`{"apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","kind":"CredentialProviderRequest","image":"x","serviceAccountToken":"t","serviceAccountAnnotations":{"a":"b"}}`,
		`{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","serviceAccountToken":"secret-token-value"}`,
		`{`, `[]`, `""`, `{"image":5}`, "", " \n", `{"apiVersion":"v1"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := ParseRequest(data)
		if err != nil {
			// An error never quotes the service-account token.
			var raw struct {
				Token string `json:"serviceAccountToken"`
			}
			if json.Unmarshal(data, &raw) == nil && len(raw.Token) >= 8 && strings.Contains(err.Error(), raw.Token) {
				t.Fatalf("error quotes the token: %v", err)
			}
			return
		}
		if !knownAPIVersion(req.APIVersion) || req.Kind != KindRequest || strings.TrimSpace(req.Image) == "" {
			t.Fatalf("accepted %+v", req)
		}
	})
}

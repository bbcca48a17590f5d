package logx

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	jwt := "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YTpiIn0.c2lnbmF0dXJlLWJ5dGVz"
	for _, secret := range []string{
		"ya29.a0AfH6SMBx-fake",
		"1//0gfake-refresh",
		jwt,
		`"serviceAccountToken":"opaque-value"`,
		`"subject_token": "opaque-value"`,
	} {
		got := Redact("before " + secret + " after")
		if strings.Contains(got, "opaque-value") || strings.Contains(got, secret) || !strings.Contains(got, "[redacted]") {
			t.Errorf("Redact left %q: %q", secret, got)
		}
		if !strings.HasPrefix(got, "before ") || !strings.HasSuffix(got, " after") {
			t.Errorf("Redact ate the surroundings: %q", got)
		}
	}
	// What messages about service accounts carry stays readable.
	for _, plain := range []string{
		"service account team-a/puller",
		"principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/subject/system:serviceaccount:a:b",
		"//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k8s",
		"puller@proj.iam.gserviceaccount.com",
		"https://kubernetes.default.svc.cluster.local",
	} {
		if got := Redact(plain); got != plain {
			t.Errorf("Redact(%q) = %q", plain, got)
		}
	}
}

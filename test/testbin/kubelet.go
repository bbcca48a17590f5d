package testbin

import (
	"encoding/json"
	"strings"
	"testing"
)

// KubeletRequest is a CredentialProviderRequest for image, as the kubelet
// writes it on the plugin's stdin.
func KubeletRequest(apiVersion, image string) []byte {
	b, _ := json.Marshal(map[string]string{"apiVersion": apiVersion, "kind": "CredentialProviderRequest", "image": image})
	return b
}

// MustFailForKubelet checks the kubelet-facing shape of a failure: non-zero
// exit, nothing on stdout, one stderr line containing want.
func MustFailForKubelet(t testing.TB, r Result, want string) {
	t.Helper()
	if r.Code == 0 || r.Stdout != "" {
		t.Fatalf("want a failure with empty stdout; exit %d, stdout %q", r.Code, r.Stdout)
	}
	if !strings.Contains(r.Stderr, want) {
		t.Fatalf("stderr %q does not say %q", r.Stderr, want)
	}
	if lines := strings.Count(strings.TrimRight(r.Stderr, "\n"), "\n") + 1; lines != 1 {
		t.Fatalf("stderr has %d lines, want 1:\n%s", lines, r.Stderr)
	}
}

package podidentity

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// IAM Credentials' error message is redacted before it is shortened: a
// key that straddles the 300-byte cut shows no part of itself.
func TestIAMMessageRedactedBeforeShortened(t *testing.T) {
	const pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7secret\n-----END PRIVATE KEY-----"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"status": "PERMISSION_DENIED", "message": strings.Repeat("a", 250) + pem + " and then some"}})
	}))
	defer srv.Close()
	_, err := generateAccessToken(context.Background(), srv.Client(), srv.URL+"/v1/x", "bearer", nil, 0)
	if err == nil || strings.Contains(err.Error(), "MIIEvQ") || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("%v", err)
	}
}

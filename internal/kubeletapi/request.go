package kubeletapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// MaxRequestBytes caps a request. A real one is an image name plus at most
// a service-account token (a few KiB); anything near the cap is not from the
// kubelet.
const MaxRequestBytes = 1 << 20

// ParseRequest decodes and checks a request. Unknown fields are ignored, so a
// newer kubelet that adds one does not break pulls.
func ParseRequest(data []byte) (*CredentialProviderRequest, error) {
	data = bytes.TrimSpace(data)
	switch {
	case len(data) == 0:
		return nil, errors.New("empty request on stdin: expected a CredentialProviderRequest JSON object from the kubelet")
	case data[0] == '[':
		return nil, errors.New("request is a JSON array: expected a CredentialProviderRequest JSON object")
	case data[0] != '{':
		return nil, errors.New("request is not a JSON object: expected a CredentialProviderRequest JSON object from the kubelet")
	}
	var req CredentialProviderRequest
	if err := json.Unmarshal(data, &req); err != nil {
		return nil, fmt.Errorf("request is not valid JSON (%s): expected a CredentialProviderRequest from the kubelet", jsonProblem(err))
	}
	if req.APIVersion == "" {
		return nil, fmt.Errorf("request has no apiVersion: want one of %s", strings.Join(APIVersions, ", "))
	}
	if !knownAPIVersion(req.APIVersion) {
		return nil, fmt.Errorf("request apiVersion %q is not supported: want one of %s", clip(req.APIVersion), strings.Join(APIVersions, ", "))
	}
	if req.Kind != KindRequest {
		if req.Kind == "" {
			return nil, fmt.Errorf("request has no kind: want %s", KindRequest)
		}
		return nil, fmt.Errorf("request kind is %q: want %s", clip(req.Kind), KindRequest)
	}
	if strings.TrimSpace(req.Image) == "" {
		return nil, errors.New("request has an empty image: the kubelet always names the image it pulls")
	}
	return &req, nil
}

func knownAPIVersion(v string) bool {
	for _, k := range APIVersions {
		if v == k {
			return true
		}
	}
	return false
}

// jsonProblem describes a JSON error by position, never by content.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn) && strings.Contains(syn.Error(), "unexpected end"):
		return "truncated"
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type", typ.Field)
	}
	return "unparseable"
}

// clip shortens a value echoed in an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// NormalizeAPIVersion accepts a full exec API version or its short form
// ("v1", "v1beta1", "v1alpha1"); "" means v1.
func NormalizeAPIVersion(v string) (string, error) {
	if v == "" {
		return APIVersionV1, nil
	}
	if !strings.Contains(v, "/") {
		v = CredentialProviderGroup + "/" + v
	}
	if !knownAPIVersion(v) {
		return "", fmt.Errorf("unknown credential provider API version %q: want v1 (Kubernetes 1.26+), v1beta1 (1.24+) or v1alpha1 (1.20+)", clip(v))
	}
	return v, nil
}

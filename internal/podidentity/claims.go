package podidentity

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/cli"
)

// maxTokenBytes bounds a service-account token (a real one is about 1 KiB).
const maxTokenBytes = 16 << 10

// Claims are what gcrcred reads from a service-account token, without
// verifying it. That is safe because nothing is granted on the strength of
// them: Google's STS verifies the very same token (signature against the
// cluster's keys, issuer, audience, expiry) before anything is minted for
// it, and the mapped principal comes from STS's reading of sub, not ours.
// gcrcred uses the claims to name the service account in messages and to
// key its token cache. A cache entry is written only after STS accepted a
// token carrying exactly those claims; a forged token could match one only
// if whoever runs gcrcred feeds it on stdin as the cache's owner, who can
// read the cache files directly anyway (they are 0600 in a private
// directory, and the kubelet, root, is the only caller on a node).
type Claims struct {
	Issuer    string
	Namespace string
	Name      string
	UID       string // of the service account; "" if the token lacks it
	Audiences []string
	Expiry    time.Time
}

// String names the service account as kubectl does: NAMESPACE/NAME.
func (c *Claims) String() string { return c.Namespace + "/" + c.Name }

// Subject is the token's sub: system:serviceaccount:NAMESPACE:NAME.
func (c *Claims) Subject() string { return "system:serviceaccount:" + c.Namespace + ":" + c.Name }

// ParseToken reads the claims of a Kubernetes service-account token. Errors
// never quote the token.
func ParseToken(token string) (*Claims, error) {
	const notSA = "the request's serviceAccountToken is not a Kubernetes service-account token"
	if len(token) > maxTokenBytes {
		return nil, fmt.Errorf("%s (longer than %d KiB)", notSA, maxTokenBytes>>10)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%s (not a JWT: %d parts, want 3)", notSA, len(parts))
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if h, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[0], "=")); err != nil || json.Unmarshal(h, &header) != nil {
		return nil, fmt.Errorf("%s (its header is not base64url JSON)", notSA)
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, fmt.Errorf("%s (its payload is not base64url)", notSA)
	}
	var raw struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp json.Number     `json:"exp"`
		K8s *struct {
			Namespace      string `json:"namespace"`
			ServiceAccount struct {
				Name string `json:"name"`
				UID  string `json:"uid"`
			} `json:"serviceaccount"`
		} `json:"kubernetes.io"`
	}
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%s (its payload is not a JSON object)", notSA)
	}
	rest, ok := strings.CutPrefix(raw.Sub, "system:serviceaccount:")
	ns, name, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || ns == "" || name == "" || strings.Contains(name, ":") {
		return nil, fmt.Errorf("%s (its sub is not system:serviceaccount:NAMESPACE:NAME)", notSA)
	}
	c := &Claims{Issuer: raw.Iss, Namespace: ns, Name: name}
	if !signingAlgorithms[header.Alg] {
		// Google's STS verifies nothing else; saying so here names the fix.
		return nil, fmt.Errorf("service account %s: its token is signed with %q, and Google's STS accepts only RS256 and ES256: give the API server an RSA or P-256 key (--service-account-signing-key-file)", c, cli.Clip(header.Alg, 20))
	}
	if raw.K8s != nil {
		// Bound tokens repeat the names; a token whose claims disagree with
		// each other is not one an API server made.
		if (raw.K8s.Namespace != "" && raw.K8s.Namespace != ns) || (raw.K8s.ServiceAccount.Name != "" && raw.K8s.ServiceAccount.Name != name) {
			return nil, fmt.Errorf("%s of %s (its kubernetes.io claim names another service account)", notSA, c)
		}
		c.UID = raw.K8s.ServiceAccount.UID
	}
	if c.Audiences, err = audiences(raw.Aud); err != nil {
		return nil, fmt.Errorf("%s of %s (%v)", notSA, c, err)
	}
	if raw.Exp != "" {
		f, err := raw.Exp.Float64()
		if err != nil {
			return nil, fmt.Errorf("%s of %s (its exp is not a number)", notSA, c)
		}
		c.Expiry = time.Unix(int64(f), 0)
	}
	return c, nil
}

// signingAlgorithms are the JWS algorithms Google's STS accepts.
var signingAlgorithms = map[string]bool{"RS256": true, "ES256": true}

// audiences reads a JWT aud: a string or an array of strings.
func audiences(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many, nil
	}
	return nil, errors.New("its aud is neither a string nor a list of strings")
}

package fakegoogle

// JSON Web Key Sets and JWS signatures, as STS verifies subject tokens.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// jwk is one verification key of a JWKS.
type jwk struct {
	kid string
	key crypto.PublicKey // *rsa.PublicKey or *ecdsa.PublicKey
}

// audience is a JWT aud: one string or an array of them.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*a = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

func (a audience) containsAny(want []string) bool {
	for _, x := range a {
		for _, w := range want {
			if x == w {
				return true
			}
		}
	}
	return false
}

// verifyJWS checks sig over signed with a key of keys whose kid matches (any
// key when the token names none).
func verifyJWS(keys []jwk, alg, kid, signed string, sig []byte) bool {
	sum := sha256.Sum256([]byte(signed))
	for _, k := range keys {
		if kid != "" && k.kid != "" && k.kid != kid {
			continue
		}
		switch pub := k.key.(type) {
		case *rsa.PublicKey:
			if alg == "RS256" && rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil {
				return true
			}
		case *ecdsa.PublicKey:
			if alg == "ES256" && len(sig) == 64 {
				r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
				if ecdsa.Verify(pub, sum[:], r, s) {
					return true
				}
			}
		}
	}
	return false
}

// parseJWKS reads the RSA and P-256 keys of a JSON Web Key Set.
func parseJWKS(b []byte) ([]jwk, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			N   string `json:"n"`
			E   string `json:"e"`
			Crv string `json:"crv"`
			X   string `json:"x"`
			Y   string `json:"y"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("not a JSON Web Key Set: %w", err)
	}
	var keys []jwk
	for _, k := range set.Keys {
		switch k.Kty {
		case "RSA":
			n, err1 := base64.RawURLEncoding.DecodeString(k.N)
			e, err2 := base64.RawURLEncoding.DecodeString(k.E)
			if err1 != nil || err2 != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
				return nil, fmt.Errorf("RSA key %q: bad n or e", k.Kid)
			}
			keys = append(keys, jwk{kid: k.Kid, key: &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}})
		case "EC":
			x, err1 := base64.RawURLEncoding.DecodeString(k.X)
			y, err2 := base64.RawURLEncoding.DecodeString(k.Y)
			if k.Crv != "P-256" || err1 != nil || err2 != nil {
				return nil, fmt.Errorf("EC key %q: want P-256 with x and y", k.Kid)
			}
			if len(x) != 32 || len(y) != 32 {
				return nil, fmt.Errorf("EC key %q: x and y must be 32 bytes each", k.Kid)
			}
			pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
			if err != nil {
				return nil, fmt.Errorf("EC key %q: not on the curve", k.Kid)
			}
			keys = append(keys, jwk{kid: k.Kid, key: pub})
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("no RSA or P-256 key in it")
	}
	return keys, nil
}

// JWKS renders public keys (RSA or P-256 ECDSA) as a JSON Web Key Set, each
// with the kid a Kubernetes API server gives it (base64url of the SHA-256 of
// its PKIX DER), so that a set built from a cluster's service-account
// signing key matches the tokens that API server signs.
func JWKS(keys ...crypto.PublicKey) ([]byte, error) {
	var out []map[string]string
	for _, k := range keys {
		kid, err := KeyID(k)
		if err != nil {
			return nil, err
		}
		switch pub := k.(type) {
		case *rsa.PublicKey:
			out = append(out, map[string]string{"use": "sig", "kty": "RSA", "kid": kid, "alg": "RS256",
				"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())})
		case *ecdsa.PublicKey:
			if pub.Curve != elliptic.P256() {
				return nil, errors.New("fakegoogle: only P-256 EC keys")
			}
			point, err := pub.Bytes() // 0x04 || x || y, 32 bytes each on P-256
			if err != nil {
				return nil, fmt.Errorf("fakegoogle: EC key: %w", err)
			}
			out = append(out, map[string]string{"use": "sig", "kty": "EC", "kid": kid, "alg": "ES256", "crv": "P-256",
				"x": b64(point[1:33]), "y": b64(point[33:])})
		default:
			return nil, fmt.Errorf("fakegoogle: unsupported key type %T", k)
		}
	}
	return json.Marshal(map[string]any{"keys": out})
}

// KeyID is the kid a Kubernetes API server gives a signing key.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return b64(sum[:]), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

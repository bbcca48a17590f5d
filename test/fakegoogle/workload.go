package fakegoogle

// Workload identity federation for Kubernetes service accounts, the way
// Google runs it: a workload identity pool provider trusts one OIDC issuer
// (a cluster's service-account issuer) through that issuer's JSON Web Key
// Set; STS verifies each subject token against it and maps the token's sub
// to a principal; IAM lets a principal impersonate only the service
// accounts it was granted roles/iam.workloadIdentityUser on.
//
//	iss := fakegoogle.NewTokenIssuer("https://kubernetes.default.svc.cluster.local")
//	aud, _ := g.AddOIDCProvider(fakegoogle.OIDCProvider{Pool: "k8s", Provider: "cluster", Issuer: iss.URL, JWKS: iss.JWKS()})
//	gsa := g.AddServiceAccount("team-a")
//	g.GrantWorkloadIdentityUser(gsa, fakegoogle.KubernetesPrincipal("k8s", "team-a", "puller"))
//	cfg, _ := g.WriteWorkloadIdentityConfig(dir, "wi", aud, "")
//	tok, _ := iss.ServiceAccountToken(fakegoogle.ServiceAccountClaims{Namespace: "team-a", Name: "puller", Audiences: []string{aud}})

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// IAMHost is the host of workload identity resource names and principals.
const IAMHost = "iam.googleapis.com"

// maxSubjectLength is Google's limit on a mapped google.subject.
const maxSubjectLength = 127

// PoolName is the resource name of a workload identity pool of the fake's
// project: //iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/POOL.
func PoolName(pool string) string {
	return "//" + IAMHost + "/projects/" + ProjectNumber + "/locations/global/workloadIdentityPools/" + pool
}

// ProviderName is the resource name of a pool provider, which is also the
// audience STS is asked for and, with no allowed audiences configured, what
// a subject token's aud must name.
func ProviderName(pool, provider string) string {
	return PoolName(pool) + "/providers/" + provider
}

// PoolPrincipal is the principal STS maps a subject to:
// principal://iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/POOL/subject/SUBJECT.
// It is the TokenSubject of the federated tokens STS issues.
func PoolPrincipal(pool, subject string) string {
	return "principal:" + PoolName(pool) + "/subject/" + subject
}

// KubernetesSubject is the sub of a Kubernetes service-account token.
func KubernetesSubject(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// KubernetesPrincipal is the principal of a Kubernetes service account under
// the attribute mapping google.subject=assertion.sub.
func KubernetesPrincipal(pool, namespace, name string) string {
	return PoolPrincipal(pool, KubernetesSubject(namespace, name))
}

// OIDCProvider is a workload identity pool provider that trusts one OIDC
// issuer, as `gcloud iam workload-identity-pools providers create-oidc
// --issuer-uri ISSUER --jwk-json-path JWKS --attribute-mapping
// google.subject=assertion.sub` creates it.
type OIDCProvider struct {
	Pool     string // pool id; "" means "k8s"
	Provider string // provider id; "" means "cluster"
	Issuer   string // the iss subject tokens must carry, exactly
	// JWKS is the issuer's JSON Web Key Set ({"keys":[...]}, RSA or P-256
	// EC keys), such as `kubectl get --raw /openid/v1/jwks` prints.
	JWKS []byte
	// AllowedAudiences, if any, are the audiences a subject token may name;
	// with none, its aud must be the provider's resource name, with the
	// //iam.googleapis.com/ or the https://iam.googleapis.com/ prefix.
	AllowedAudiences []string
	// AttributeMapping is --attribute-mapping: google.subject and
	// attribute.NAME to CEL expressions (see mapping.go); none means
	// google.subject=assertion.sub. The mapped google.subject names the
	// principal; each attribute.NAME puts the token in the principal set
	// PoolPrincipalSet(pool, NAME, value).
	AttributeMapping map[string]string
	// AttributeCondition is --attribute-condition: tokens for which it
	// does not hold are refused.
	AttributeCondition string
}

// oidcProvider is a registered OIDCProvider.
type oidcProvider struct {
	pool, name, issuer string
	keys               []jwk
	audiences          []string
	attrs              *attributes
	cond               *condition
}

// AddOIDCProvider registers p (replacing a provider of the same pool and
// id) and returns its resource name: the audience of the credential
// configuration that `create-cred-config` writes for it.
func (g *Google) AddOIDCProvider(p OIDCProvider) (audience string, err error) {
	if p.Pool == "" {
		p.Pool = "k8s"
	}
	if p.Provider == "" {
		p.Provider = "cluster"
	}
	if p.Issuer == "" {
		return "", errors.New("fakegoogle: an OIDC provider needs an issuer")
	}
	keys, err := parseJWKS(p.JWKS)
	if err != nil {
		return "", fmt.Errorf("fakegoogle: JWKS of %s: %w", p.Issuer, err)
	}
	attrs, err := parseAttributes(p.AttributeMapping)
	if err != nil {
		return "", fmt.Errorf("fakegoogle: attribute mapping: %w", err)
	}
	cond, err := parseCondition(p.AttributeCondition)
	if err != nil {
		return "", fmt.Errorf("fakegoogle: attribute condition: %w", err)
	}
	name := ProviderName(p.Pool, p.Provider)
	auds := append([]string(nil), p.AllowedAudiences...)
	if len(auds) == 0 {
		auds = []string{name, "https:" + name}
	}
	g.mu.Lock()
	g.providers[name] = &oidcProvider{pool: p.Pool, name: name, issuer: p.Issuer, keys: keys, audiences: auds, attrs: attrs, cond: cond}
	g.mu.Unlock()
	return name, nil
}

// AddServiceAccount registers the service account
// name@fake-project.iam.gserviceaccount.com, with no key (it can only be
// impersonated), and returns its e-mail.
func (g *Google) AddServiceAccount(name string) (email string) {
	email = serviceAccountEmail(name)
	g.mu.Lock()
	g.serviceAccountLocked(email)
	g.mu.Unlock()
	return email
}

// GrantWorkloadIdentityUser lets member (a principal:// or principalSet://
// identifier, as PoolPrincipal returns) impersonate the service account
// email, like granting roles/iam.workloadIdentityUser on it. Callers whose
// tokens belong to a principal can impersonate only accounts they were
// granted; other callers (keys, users) are not restricted by the fake.
func (g *Google) GrantWorkloadIdentityUser(email, member string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.grantLocked(email, member)
}

// grantLocked records a grant. Callers hold g.mu.
func (g *Google) grantLocked(email, member string) {
	if g.grants[email] == nil {
		g.grants[email] = map[string]bool{}
	}
	g.grants[email][member] = true
}

// mayImpersonateLocked reports whether the holder of the token t may get a
// token for the service account email: a principal needs a grant to
// itself or to a principal set it is in. Callers hold g.mu.
func (g *Google) mayImpersonateLocked(t issued, email string) bool {
	if !strings.HasPrefix(t.subject, "principal://") && !strings.HasPrefix(t.subject, "principalSet://") {
		return true
	}
	for _, m := range t.members() {
		if g.grants[email][m] {
			return true
		}
	}
	return false
}

// WriteWorkloadIdentityConfig writes dir/name.json, a credential
// configuration for the pool provider audience (what AddOIDCProvider
// returned) as `gcloud iam workload-identity-pools create-cred-config`
// writes it, with token_url on this fake. Its credential_source names a
// token file that need not exist: gcrcred supplies the subject token itself.
// With defaultServiceAccount (an e-mail) the file also carries
// service_account_impersonation_url for it (create-cred-config
// --service-account); on this fake, generateAccessToken is served on the
// same host as STS either way.
func (g *Google) WriteWorkloadIdentityConfig(dir, name, audience, defaultServiceAccount string) (path string, err error) {
	cfg := map[string]any{
		"universe_domain":    "googleapis.com",
		"type":               "external_account",
		"audience":           audience,
		"subject_token_type": tokenTypeJWT,
		"token_url":          g.URL + "/v1/token",
		"credential_source": map[string]any{
			"file":   "/var/run/service-account/token",
			"format": map[string]string{"type": "text"},
		},
	}
	if defaultServiceAccount != "" {
		cfg["service_account_impersonation_url"] = g.URL + "/v1/projects/-/serviceAccounts/" + defaultServiceAccount + ":generateAccessToken"
	}
	return writeCredFile(dir, name, cfg)
}

// Limits real STS enforces on subject tokens.
const (
	// maxSubjectTokenLife bounds exp - iat.
	maxSubjectTokenLife = 48 * time.Hour
	clockSkew           = 60 // seconds Google tolerates between clocks, roughly
)

// federated is what STS makes of a subject token it accepts.
type federated struct {
	principal string
	sets      []string  // the principal sets it is in
	expiry    time.Time // the subject token's exp: the federated token lives no longer
}

// verifySubjectToken checks a JWT subject token for the pool provider named
// audience as Google's STS does, and maps it. Errors are STS's
// error_description; none quotes the token.
func (g *Google) verifySubjectToken(audience, token string) (*federated, error) {
	g.mu.Lock()
	p := g.providers[audience]
	g.mu.Unlock()
	if p == nil {
		return nil, errors.New("The target service indicated by the \"audience\" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn't exist.")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("Unable to parse the ID Token.")
	}
	var h struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	var c subjectClaims
	var raw map[string]any
	if decodeSegment(parts[0], &h) != nil || decodeSegment(parts[1], &c) != nil || decodeSegment(parts[1], &raw) != nil {
		return nil, errors.New("Unable to parse the ID Token.")
	}
	switch {
	case h.Alg != "RS256" && h.Alg != "ES256":
		return nil, fmt.Errorf("Invalid ID Token: the signing algorithm %q is not supported; use RS256 or ES256.", h.Alg)
	case h.Kid == "":
		return nil, errors.New("Invalid ID Token: the token header has no kid.")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !verifyJWS(p.keys, h.Alg, h.Kid, parts[0]+"."+parts[1], sig) {
		return nil, errors.New("Invalid ID Token: the signature does not verify against any key of the provider's JWKS.")
	}
	if c.Iss != p.issuer {
		return nil, fmt.Errorf("The issuer in ID Token %s does not match the expected ISSUER %s.", c.Iss, p.issuer)
	}
	if !c.Aud.containsAny(p.audiences) {
		return nil, fmt.Errorf("The audience in ID Token %v does not match the expected audience %s.", []string(c.Aud), p.audiences[0])
	}
	now := time.Now().Unix()
	switch {
	case c.Exp == 0:
		return nil, errors.New("The ID Token has no expiration time.")
	case c.Exp <= now:
		return nil, fmt.Errorf("ID Token expired at %s.", time.Unix(c.Exp, 0).UTC().Format(time.RFC3339))
	case c.Iat > now+clockSkew || c.Nbf > now+clockSkew:
		return nil, errors.New("ID Token is not yet valid: its iat or nbf is in the future.")
	case c.Iat != 0 && time.Duration(c.Exp-c.Iat)*time.Second > maxSubjectTokenLife:
		return nil, fmt.Errorf("The ID Token's lifetime (exp - iat) exceeds %s.", maxSubjectTokenLife)
	case !p.cond.holds(raw):
		return nil, errors.New("The given credential is rejected by the attribute condition.")
	}
	f := &federated{expiry: time.Unix(c.Exp, 0)}
	for i, name := range p.attrs.names {
		v, err := p.attrs.mappings[i].eval(raw)
		if err != nil {
			return nil, fmt.Errorf("The attribute mapping of %s failed: %v.", name, err)
		}
		if name != SubjectAttribute {
			f.sets = append(f.sets, PoolPrincipalSet(p.pool, strings.TrimPrefix(name, "attribute."), v))
			continue
		}
		switch {
		case v == "":
			return nil, errors.New("The mapped attribute 'google.subject' must not be empty.")
		case len(v) > maxSubjectLength:
			return nil, fmt.Errorf("The size of mapped attribute google.subject exceeds the %d bytes limit. Either provide a shorter value for the mapped attribute or update the attribute mapping to reduce the size of the mapped value.", maxSubjectLength)
		}
		f.principal = PoolPrincipal(p.pool, v)
	}
	f.sets = append(f.sets, "principalSet:"+PoolName(p.pool)+"/*")
	return f, nil
}

// subjectClaims are the claims STS reads from a subject token.
type subjectClaims struct {
	Iss string   `json:"iss"`
	Sub string   `json:"sub"`
	Aud audience `json:"aud"`
	Exp int64    `json:"exp"`
	Iat int64    `json:"iat"`
	Nbf int64    `json:"nbf"`
}

// TokenIssuer signs Kubernetes service-account tokens as an API server does
// (RS256, its own key), for tests. The tokens are real JWTs: the fake STS
// verifies them against the issuer's JWKS once an OIDCProvider trusts it.
type TokenIssuer struct {
	URL string // the iss of its tokens
	key *rsa.PrivateKey
	kid string
}

// NewTokenIssuer makes an issuer with a fresh 2048-bit RSA key.
func NewTokenIssuer(issuerURL string) (*TokenIssuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return newTokenIssuer(issuerURL, key)
}

// LoadTokenIssuer makes an issuer from a PEM private key (KeyPEM's output,
// or an API server's --service-account-signing-key-file if RSA).
func LoadTokenIssuer(issuerURL string, keyPEM []byte) (*TokenIssuer, error) {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("fakegoogle: no PEM block in the issuer key")
	}
	var key any
	var err error
	if block.Type == "RSA PRIVATE KEY" {
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	} else {
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("fakegoogle: issuer key: %w", err)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("fakegoogle: issuer key is %T, want RSA", key)
	}
	return newTokenIssuer(issuerURL, rk)
}

func newTokenIssuer(issuerURL string, key *rsa.PrivateKey) (*TokenIssuer, error) {
	kid, err := KeyID(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	return &TokenIssuer{URL: issuerURL, key: key, kid: kid}, nil
}

// KeyPEM is the issuer's private key (PKCS#8 PEM), to hand to another
// process that signs for the same issuer.
func (i *TokenIssuer) KeyPEM() []byte {
	der, _ := x509.MarshalPKCS8PrivateKey(i.key)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// JWKS is the issuer's public key set, as /openid/v1/jwks serves it.
func (i *TokenIssuer) JWKS() []byte {
	b, _ := JWKS(&i.key.PublicKey)
	return b
}

// ServiceAccountClaims describe a Kubernetes service-account token.
type ServiceAccountClaims struct {
	Namespace, Name, UID string
	Audiences            []string
	PodName, PodUID      string    // the pod the token is bound to, if any
	NodeName             string    // the node the pod runs on, if any
	IssuedAt             time.Time // zero: now
	Lifetime             time.Duration
}

// ServiceAccountToken signs a token with the claims a kube-apiserver puts in
// a bound service-account token: iss, sub system:serviceaccount:NS:NAME,
// aud, iat, nbf, exp (IssuedAt + Lifetime, default one hour), jti and the
// kubernetes.io claim with the namespace, service account and pod.
func (i *TokenIssuer) ServiceAccountToken(c ServiceAccountClaims) (string, error) {
	iat := c.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	life := c.Lifetime
	if life == 0 {
		life = time.Hour
	}
	k8s := map[string]any{
		"namespace":      c.Namespace,
		"serviceaccount": map[string]string{"name": c.Name, "uid": c.UID},
	}
	if c.PodName != "" {
		k8s["pod"] = map[string]string{"name": c.PodName, "uid": c.PodUID}
	}
	if c.NodeName != "" {
		k8s["node"] = map[string]string{"name": c.NodeName, "uid": randUUID()}
	}
	return i.Sign(map[string]any{
		"iss":           i.URL,
		"sub":           KubernetesSubject(c.Namespace, c.Name),
		"aud":           c.Audiences,
		"iat":           iat.Unix(),
		"nbf":           iat.Unix(),
		"exp":           iat.Add(life).Unix(),
		"jti":           randUUID(),
		"kubernetes.io": k8s,
	})
}

// Sign makes an RS256 JWT of claims with the issuer's key and kid.
func (i *TokenIssuer) Sign(claims map[string]any) (string, error) {
	h, err := json.Marshal(map[string]string{"alg": "RS256", "kid": i.kid})
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signed := b64(h) + "." + b64(c)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, i.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signed + "." + b64(sig), nil
}

// randUUID is a random RFC 4122 version 4 UUID, as Kubernetes UIDs are.
func randUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := fmt.Sprintf("%x", b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// NewUID is a random Kubernetes-style UID, for service accounts in tests.
func NewUID() string { return randUUID() }

// providerNamePattern matches a pool provider's resource name; its project
// is the project number (digits) when Google would know the name.
var providerNamePattern = regexp.MustCompile(`^//iam\.googleapis\.com/projects/([^/]+)/locations/global/workloadIdentityPools/[^/]+/providers/[^/]+$`)

// isProviderName reports whether s names a workload identity pool provider.
func isProviderName(s string) bool { return providerNamePattern.MatchString(s) }

// projectOf is the project segment of a pool provider's resource name.
func projectOf(name string) string {
	if m := providerNamePattern.FindStringSubmatch(name); m != nil {
		return m[1]
	}
	return ""
}

// isProjectNumber reports whether s is a project number: Google's
// workload identity resource names carry numbers, never project IDs.
func isProjectNumber(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

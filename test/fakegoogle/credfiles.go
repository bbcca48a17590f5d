package fakegoogle

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
)

// serviceAccount is a service account the fake knows. key is nil for one
// that can only be impersonated (no key file was written for it).
type serviceAccount struct {
	email    string
	clientID string
	keyID    string
	key      *rsa.PrivateKey
}

// authorizedUser is an OAuth client with a user's refresh token (gcloud ADC).
type authorizedUser struct {
	clientID, clientSecret, refreshToken string
}

// externalIdent is what a registered workload-identity subject token stands for.
type externalIdent struct {
	audience, tokenType, principal string
}

// sharedKey is the RSA key of every service account in this process:
// generating a 2048-bit key costs tens of milliseconds, and what tells the
// accounts apart is client_email and private_key_id, which are distinct.
var sharedKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
})

// serviceAccountEmail is the e-mail of the service account called name.
func serviceAccountEmail(name string) string {
	return name + "@" + ProjectID + ".iam.gserviceaccount.com"
}

// serviceAccountLocked returns the service account for email, creating it if needed.
// Callers hold g.mu.
func (g *Google) serviceAccountLocked(email string) *serviceAccount {
	sa := g.sas[email]
	if sa == nil {
		sa = &serviceAccount{email: email, clientID: randDigits(21)}
		g.sas[email] = sa
	}
	return sa
}

// userLocked returns the authorized user called name, creating it if needed.
// Callers hold g.mu.
func (g *Google) userLocked(name string) *authorizedUser {
	if u, ok := g.byName["user/"+name].(*authorizedUser); ok {
		return u
	}
	u := &authorizedUser{
		clientID:     name + "-" + randDigits(12) + ".apps.googleusercontent.com",
		clientSecret: "GOCSPX-fake-" + randText(),
		refreshToken: "1//fake-refresh-" + randText(),
	}
	g.byName["user/"+name] = u
	g.users[u.clientID] = u
	return u
}

// impersonationURL is the generateAccessToken URL for email on this fake.
func (g *Google) impersonationURL(email string) string {
	return g.URL + "/iam/v1/projects/-/serviceAccounts/" + email + ":generateAccessToken"
}

// WriteServiceAccountKey writes dir/name.json, a "service_account" key file
// for the account name@fake-project.iam.gserviceaccount.com whose token_uri
// is this fake. Calling it again with the same name gives the same account
// and key.
func (g *Google) WriteServiceAccountKey(dir, name string) (path, email string, err error) {
	key, err := sharedKey()
	if err != nil {
		return "", "", err
	}
	email = serviceAccountEmail(name)
	g.mu.Lock()
	sa := g.serviceAccountLocked(email)
	if sa.key == nil {
		sa.key, sa.keyID = key, randHex(20)
	}
	g.mu.Unlock()
	der, err := x509.MarshalPKCS8PrivateKey(sa.key)
	if err != nil {
		return "", "", err
	}
	path, err = writeCredFile(dir, name, map[string]any{
		"type":                        "service_account",
		"project_id":                  ProjectID,
		"private_key_id":              sa.keyID,
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":                email,
		"client_id":                   sa.clientID,
		"auth_uri":                    g.URL + "/o/oauth2/auth",
		"token_uri":                   g.URL + "/token",
		"auth_provider_x509_cert_url": g.URL + "/oauth2/v1/certs",
		"client_x509_cert_url":        g.URL + "/robot/v1/metadata/x509/" + email,
		"universe_domain":             "googleapis.com",
	})
	return path, email, err
}

// WriteAuthorizedUser writes dir/name.json, an "authorized_user" file (what
// `gcloud auth application-default login` writes) plus a token_uri pointing
// at this fake. The identity is the returned OAuth client_id.
func (g *Google) WriteAuthorizedUser(dir, name string) (path, clientID string, err error) {
	g.mu.Lock()
	u := g.userLocked(name)
	g.mu.Unlock()
	path, err = writeCredFile(dir, name, g.authorizedUserJSON(u))
	return path, u.clientID, err
}

func (g *Google) authorizedUserJSON(u *authorizedUser) map[string]any {
	return map[string]any{
		"type":            "authorized_user",
		"client_id":       u.clientID,
		"client_secret":   u.clientSecret,
		"refresh_token":   u.refreshToken,
		"token_uri":       g.URL + "/token",
		"universe_domain": "googleapis.com",
	}
}

// WriteExternalAccount writes dir/name.json, an "external_account" (workload
// identity federation) file, and dir/name-subject-token.txt, the OIDC token it
// reads. The STS token is exchanged for a token of the service account
// name@fake-project.iam.gserviceaccount.com, whose e-mail is returned.
func (g *Google) WriteExternalAccount(dir, name string) (path, saEmail string, err error) {
	abs, err := filepath.Abs(dir) // the library opens credential_source.file relative to its cwd
	if err != nil {
		return "", "", err
	}
	saEmail = serviceAccountEmail(name)
	pool := "//iam.googleapis.com/projects/" + ProjectNumber + "/locations/global/workloadIdentityPools/fake-pool"
	g.mu.Lock()
	g.serviceAccountLocked(saEmail)
	subject, ok := g.byName["external/"+name].(string)
	if !ok {
		subject = "fake-oidc-subject-" + randText()
		g.byName["external/"+name] = subject
		g.subjects[subject] = &externalIdent{
			audience:  pool + "/providers/" + name,
			tokenType: tokenTypeJWT,
			principal: "principal:" + pool + "/subject/" + name,
		}
		// The file impersonates this account, so its principal may.
		g.grantLocked(saEmail, "principal:"+pool+"/subject/"+name)
	}
	id := g.subjects[subject]
	g.mu.Unlock()

	tokenFile := filepath.Join(abs, name+"-subject-token.txt")
	if err := writeFile0600(tokenFile, []byte(subject+"\n")); err != nil {
		return "", "", err
	}
	path, err = writeCredFile(abs, name, map[string]any{
		"type":               "external_account",
		"audience":           id.audience,
		"subject_token_type": id.tokenType,
		"token_url":          g.URL + "/sts",
		"credential_source": map[string]any{
			"file":   tokenFile,
			"format": map[string]string{"type": "text"},
		},
		"service_account_impersonation_url": g.impersonationURL(saEmail),
		"universe_domain":                   "googleapis.com",
	})
	return path, saEmail, err
}

// WriteImpersonated writes dir/name.json, an "impersonated_service_account"
// file (what `gcloud auth application-default login
// --impersonate-service-account` writes) whose source credentials are the
// authorized user "name-source" and whose target is the service account
// name@fake-project.iam.gserviceaccount.com.
func (g *Google) WriteImpersonated(dir, name string) (path, targetEmail string, err error) {
	targetEmail = serviceAccountEmail(name)
	g.mu.Lock()
	g.serviceAccountLocked(targetEmail)
	u := g.userLocked(name + "-source")
	g.mu.Unlock()
	path, err = writeCredFile(dir, name, map[string]any{
		"type":                              "impersonated_service_account",
		"service_account_impersonation_url": g.impersonationURL(targetEmail),
		"source_credentials":                g.authorizedUserJSON(u),
		"delegates":                         []string{},
	})
	return path, targetEmail, err
}

// KnownServiceAccountKey reports whether keyJSON is a service-account key
// file written by this fake: type, client_email, private_key_id and the
// private key itself must all match a registered account.
func (g *Google) KnownServiceAccountKey(keyJSON []byte) bool {
	_, ok := g.KeyAccount(keyJSON)
	return ok
}

// KeyAccount is the e-mail of the service account whose key keyJSON is, if
// KnownServiceAccountKey holds for it.
func (g *Google) KeyAccount(keyJSON []byte) (email string, ok bool) {
	var f struct {
		Type         string `json:"type"`
		ClientEmail  string `json:"client_email"`
		PrivateKeyID string `json:"private_key_id"`
		PrivateKey   string `json:"private_key"`
	}
	if json.Unmarshal(keyJSON, &f) != nil || f.Type != "service_account" {
		return "", false
	}
	g.mu.Lock()
	sa := g.sas[f.ClientEmail]
	g.mu.Unlock()
	if sa == nil || sa.key == nil || !equal(f.PrivateKeyID, sa.keyID) {
		return "", false
	}
	block, _ := pem.Decode([]byte(f.PrivateKey))
	if block == nil {
		return "", false
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return "", false
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok || !rk.PublicKey.Equal(&sa.key.PublicKey) {
		return "", false
	}
	return sa.email, true
}

// writeCredFile writes v as dir/name.json with mode 0600 and returns the path.
func writeCredFile(dir, name string, v any) (string, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name+".json")
	return path, writeFile0600(path, append(b, '\n'))
}

// writeFile0600 writes b to path, leaving it mode 0600 even if it existed.
func writeFile0600(path string, b []byte) error {
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("fakegoogle: %w", err)
	}
	return os.Chmod(path, 0o600)
}

// randHex returns n random bytes in hex.
func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// randDigits returns n random decimal digits, the first non-zero.
func randDigits(n int) string {
	s := ""
	for len(s) < n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		if s == "" && d.Sign() == 0 {
			continue
		}
		s += d.String()
	}
	return s
}

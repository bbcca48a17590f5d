// Package credfile finds and reads Google credential files, in this order:
// --credentials, GCRCRED_CREDENTIALS, GOOGLE_APPLICATION_CREDENTIALS, the
// system-wide file, gcloud's application default credentials. It reads
// local files only; internal/auth adds the metadata server and the gcloud
// CLI and mints tokens.
package credfile

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/gcrcred/gcrcred/internal/nodelayout"
)

// SystemCredentials is the node-wide file the installers write (the node
// layout contract), so the kubelet and docker on a node need no environment.
const SystemCredentials = nodelayout.Credentials

// The "type" values of Google credential files.
const (
	ServiceAccount                = "service_account"
	AuthorizedUser                = "authorized_user"
	ExternalAccount               = "external_account"
	ExternalAccountAuthorizedUser = "external_account_authorized_user"
	ImpersonatedServiceAccount    = "impersonated_service_account"
)

// Usernames Google registries accept: an access token, or (the long-lived
// method) a service-account key as the password.
const (
	TokenUsername   = "oauth2accesstoken"
	JSONKeyUsername = "_json_key"
)

// File is a credentials file found and checked.
type File struct {
	Kind    string // its "type"
	Origin  string // where it was found, for humans: "GCRCRED_CREDENTIALS (/path)"
	Path    string
	Account string // best-effort identity (never a secret)
	JSON    []byte
	Use     Use // the rules it was checked under (Check), checked again before minting
}

// Places are where Locate looks for a credentials file, in order, besides
// the system file (internal/settings fills them in from flags and the
// environment); "" is nowhere.
type Places struct {
	Flag      string // --credentials
	Gcrcred   string // GCRCRED_CREDENTIALS
	Google    string // GOOGLE_APPLICATION_CREDENTIALS
	GcloudDir string // gcloud's configuration directory, for its application default credentials
}

// Locate returns the first credentials file of the order, or nil and the
// places it looked. An explicitly named file that is missing or malformed is
// an error, never skipped: the user asked for it. A file merely present where
// we look is an error when malformed (skipping it would hide the mistake) and
// skipped when unreadable (a user outside the docker group on a node, say).
// Every file is checked under the rules of use, the system file under
// Node's whoever reads it: it is a node's.
func Locate(places Places, use Use) (f *File, tried []string, err error) {
	for _, c := range []struct{ name, path string }{
		{"--credentials", places.Flag},
		{"GCRCRED_CREDENTIALS", places.Gcrcred},
		{"GOOGLE_APPLICATION_CREDENTIALS", places.Google},
	} {
		if c.path == "" {
			continue
		}
		f, err := fromFile(c.path, fmt.Sprintf("%s (%s)", c.name, c.path), false, use)
		if err != nil {
			return nil, nil, &SourceError{Source: c.name, Path: c.path, Err: err}
		}
		return f, nil, nil
	}
	tried = append(tried, "GCRCRED_CREDENTIALS and GOOGLE_APPLICATION_CREDENTIALS (unset)")
	for _, c := range []struct{ name, path string }{
		{"system credentials", SystemCredentials},
		{"gcloud application default credentials", adcPath(places.GcloudDir)},
	} {
		if c.path == "" {
			continue
		}
		system := c.path == SystemCredentials
		u := use
		if system {
			u = Node
		}
		f, err := fromFile(c.path, fmt.Sprintf("%s (%s)", c.name, c.path), system, u)
		switch {
		case err == nil:
			return f, nil, nil
		case errors.Is(err, fs.ErrNotExist):
			tried = append(tried, c.path+" (absent)")
		case errors.Is(err, fs.ErrPermission):
			tried = append(tried, c.path+" (not readable by this user)")
		default:
			return nil, nil, err
		}
	}
	return nil, tried, nil
}

// SourceError is a credentials file named by --credentials or a variable
// that could not be used: the advice depends on which named it.
type SourceError struct {
	Source string // "--credentials", "GCRCRED_CREDENTIALS", "GOOGLE_APPLICATION_CREDENTIALS"
	Path   string
	Err    error
}

func (e *SourceError) Error() string { return e.Source + ": " + e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }

// Fix is the next step for the user, chosen by what named the file and
// what is wrong with it.
func (e *SourceError) Fix() string {
	missing := errors.Is(e.Err, fs.ErrNotExist)
	switch {
	case e.Source == "--credentials" && missing:
		return "check the path given to --credentials: " + e.Path + " does not exist here"
	case e.Source == "--credentials":
		return "fix or replace " + e.Path + ", or pass another file to --credentials"
	case missing:
		return e.Source + " names " + e.Path + ", which does not exist: set it to an existing credentials file, or unset it to use the rest of the credential order"
	}
	return "fix or replace " + e.Path + ", or unset " + e.Source + " to use the rest of the credential order"
}

// maxFileSize bounds what is read of a credentials file (a key is a few KiB).
const maxFileSize = 1 << 20

// ReadFile reads the credentials file at path as Locate does (bounded,
// never blocking on a FIFO), for a caller that checks it with Parse.
func ReadFile(path string) ([]byte, error) { return readFile(path, false) }

// CacheKey is the token-cache identity of credentials with the given
// identity and scopes: two different credentials never share one.
func CacheKey(identity string, scopes []string) string {
	return identity + "|" + strings.Join(scopes, " ")
}

// Identity of a credentials file: a digest of its content.
func (f *File) Identity() string {
	h := sha256.Sum256(f.JSON)
	return "file:" + hex.EncodeToString(h[:])
}

// ParseServiceAccountKey checks that data is a usable service-account key
// (what `docker login -u _json_key` hands us) and returns its email.
func ParseServiceAccountKey(data []byte) (email string, err error) {
	f, err := Parse(data, "given as the password", "docker login", Workstation)
	if err != nil {
		return "", err
	}
	if f.Kind != ServiceAccount {
		return "", fmt.Errorf("a _json_key login needs a service-account key, not %s credentials", f.Kind)
	}
	return f.Account, nil
}

// fromFile reads and parses a credentials file (see readFile for system).
func fromFile(path, origin string, system bool, use Use) (*File, error) {
	data, err := readFile(path, system)
	if err != nil {
		return nil, err
	}
	return Parse(data, path, origin, use)
}

// Parse checks data as a credentials file found at path (for messages),
// described to humans as origin, under the rules of use (Check).
func Parse(data []byte, path, origin string, use Use) (*File, error) {
	// One decode serves both what is read here and the rules (rulesFile
	// holds the fields of both).
	var f rulesFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("credentials file %s is not valid JSON (%s): download a new key or run `gcloud auth application-default login`", path, jsonProblem(err))
	}
	s := &File{Kind: f.Type, Origin: origin, Path: path, JSON: data, Use: use}
	switch f.Type {
	case ServiceAccount:
		if f.ClientEmail == "" || f.PrivateKey == "" {
			return nil, fmt.Errorf("credentials file %s: service_account key lacks client_email or private_key", path)
		}
		s.Account = f.ClientEmail
	case AuthorizedUser:
		if f.RefreshToken == "" || f.ClientID == "" {
			return nil, fmt.Errorf("credentials file %s: authorized_user credentials lack client_id or refresh_token: run `gcloud auth application-default login`", path)
		}
		s.Account = f.Account
		if s.Account == "" {
			s.Account = "user of OAuth client " + f.ClientID
		}
	case ExternalAccount, ExternalAccountAuthorizedUser:
		s.Account, _ = ImpersonationTarget(f.ServiceAccountImpersonationURL)
		if s.Account == "" {
			s.Account = "federated identity of " + f.Audience
		}
	case ImpersonatedServiceAccount:
		if f.ServiceAccountImpersonationURL == "" || f.SourceCredentials == nil {
			return nil, fmt.Errorf("credentials file %s: impersonated_service_account lacks service_account_impersonation_url or source_credentials", path)
		}
		s.Account, _ = ImpersonationTarget(f.ServiceAccountImpersonationURL)
	case "":
		return nil, fmt.Errorf("credentials file %s has no \"type\" field: is it a Google credentials file?", path)
	default:
		return nil, fmt.Errorf("credentials file %s has unsupported type %q (want service_account, authorized_user, external_account or impersonated_service_account)", path, f.Type)
	}
	if err := f.check("credentials file "+path, "", use); err != nil {
		return nil, err
	}
	return s, nil
}

// CheckKey refuses a service_account file whose private_key x/oauth2
// could not sign with, before a mint: its error would be retried and
// blamed on the network. Not part of Parse, which the warm path runs:
// parsing an RSA key costs more than the rest of a warm get. Nothing of
// the key is quoted.
func CheckKey(data []byte, path string) error {
	var f struct {
		Type              string          `json:"type"`
		PrivateKey        string          `json:"private_key"`
		SourceCredentials json.RawMessage `json:"source_credentials"`
	}
	if json.Unmarshal(data, &f) != nil {
		return nil // Parse and Check say what is wrong with the rest
	}
	if len(f.SourceCredentials) > 0 { // impersonation signs with its source's key
		return CheckKey(f.SourceCredentials, path+" (source_credentials)")
	}
	if f.Type != ServiceAccount {
		return nil
	}
	if !isRSAKey(f.PrivateKey) {
		return fmt.Errorf("private_key in %s is not a PEM-encoded RSA key: create a new key (gcloud iam service-accounts keys create)", path)
	}
	return nil
}

// isRSAKey reports whether key is a PEM-encoded RSA private key, PKCS #8
// or PKCS #1, as x/oauth2 reads it to sign (its internal.ParseKey).
func isRSAKey(key string) bool {
	block, _ := pem.Decode([]byte(key))
	if block == nil {
		return false
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		_, ok := k.(*rsa.PrivateKey)
		return ok
	}
	_, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	return err == nil
}

// jsonProblem describes a JSON error without quoting the input (it may hold a key).
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type", typ.Field)
	case strings.Contains(err.Error(), "unexpected end"):
		return "truncated"
	}
	return "unparseable"
}

// ImpersonationTarget pulls EMAIL out of
// .../serviceAccounts/EMAIL:generateAccessToken; false if u has no such end.
func ImpersonationTarget(u string) (string, bool) {
	i := strings.LastIndex(u, "/serviceAccounts/")
	if i < 0 {
		return "", false
	}
	email, ok := strings.CutSuffix(u[i+len("/serviceAccounts/"):], ":generateAccessToken")
	if !ok {
		return "", false
	}
	if e, err := url.PathUnescape(email); err == nil {
		email = e
	}
	return email, true
}

// adcPath is gcloud's application default credentials in its
// configuration directory dir ("": none).
func adcPath(dir string) string {
	if dir != "" {
		return filepath.Join(dir, "application_default_credentials.json")
	}
	return ""
}

package credfile

import (
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/endpoint"
	"github.com/gcrcred/gcrcred/internal/smallfile"
)

// Use is what a credentials file is read for; it decides which subject
// token sources an external_account file may name.
type Use int

const (
	// Workstation: the Docker helper, `token` and `doctor` run by a user
	// with their own files. A federation file may read its subject token
	// from a file or a URL (gcloud writes such files) or from AWS.
	Workstation Use = iota
	// Node: a file installed on a node (`node install --credentials`, the
	// system file) and whatever the kubelet's plugin loads. These run as
	// root for every pull, so a file may name no file, URL or program to
	// read a subject token from: pods' identity supplies its own
	// (internal/podidentity), and only AWS's metadata server is allowed.
	Node
	// PodConfig: a workload identity configuration for per-pod identity.
	// Its credential_source is ignored, never read: the plugin hands STS
	// the kubelet's service-account token instead (gcloud's
	// create-cred-config always writes a source, so refusing one would
	// make every user edit gcloud's output).
	PodConfig
)

// rulesFile mirrors the fields golang.org/x/oauth2/google reads from a
// credentials file (its credentialsFile), with the same names: encoding/json
// matches keys case-insensitively, so only the same struct fields see the
// same values x/oauth2 will use.
type rulesFile struct {
	Type                           string            `json:"type"`
	TokenURI                       string            `json:"token_uri"`
	UniverseDomain                 string            `json:"universe_domain"`
	TokenURL                       string            `json:"token_url"`
	TokenInfoURL                   string            `json:"token_info_url"`
	RevokeURL                      string            `json:"revoke_url"`
	ServiceAccountImpersonationURL string            `json:"service_account_impersonation_url"`
	CredentialSource               *CredentialSource `json:"credential_source"`
	SourceCredentials              *rulesFile        `json:"source_credentials"`
	// What x/oauth2 reads as an OAuth client file (ConfigFromJSON) before
	// anything else, whatever "type" says.
	Web       *json.RawMessage `json:"web"`
	Installed *json.RawMessage `json:"installed"`
	// Read by Parse only (for the account and to check the kind): the
	// names x/oauth2 and gcloud give them.
	ClientEmail  string `json:"client_email"`
	PrivateKey   string `json:"private_key"`
	ClientID     string `json:"client_id"`
	RefreshToken string `json:"refresh_token"`
	Account      string `json:"account"`
	Audience     string `json:"audience"`
}

// CredentialSource is where an external_account file takes its subject token
// from; it mirrors x/oauth2's externalaccount.CredentialSource.
type CredentialSource struct {
	File       string `json:"file"`
	URL        string `json:"url"`
	Executable *struct {
		Command string `json:"command"`
	} `json:"executable"`
	EnvironmentID         string `json:"environment_id"`
	RegionURL             string `json:"region_url"`
	IMDSv2SessionTokenURL string `json:"imdsv2_session_token_url"`
}

// Check applies the rules for use to a credentials file's content: every
// endpoint it makes gcrcred call is Google's (internal/endpoint), and its
// subject token source is one use allows. what names the file in errors
// ("credentials file /path"). It reads nothing and calls nothing.
func Check(data []byte, what string, use Use) error {
	var f rulesFile
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("%s is not valid JSON (%s)", what, jsonProblem(err))
	}
	return f.check(what, "", use)
}

func (f *rulesFile) check(what, prefix string, use Use) error {
	if f.Web != nil || f.Installed != nil {
		return fmt.Errorf("%s: %sweb or %sinstalled: an OAuth client file is not credentials: use a service-account key or run `gcloud auth application-default login`", what, prefix, prefix)
	}
	// Every use, node, workstation and per-pod: the universe decides hosts
	// x/oauth2 builds itself, so only Google's default one is taken.
	if err := endpoint.CheckUniverse(what, prefix+"universe_domain", f.UniverseDomain); err != nil {
		return err
	}
	type field struct {
		name, value string
		service     endpoint.Service
	}
	var fields []field
	switch f.Type {
	case ServiceAccount, AuthorizedUser:
		fields = []field{{"token_uri", f.TokenURI, endpoint.OAuth2}}
	case ExternalAccount, ExternalAccountAuthorizedUser:
		fields = []field{
			{"token_url", f.TokenURL, endpoint.STS},
			{"token_info_url", f.TokenInfoURL, endpoint.STS},
			{"revoke_url", f.RevokeURL, endpoint.STS},
			{"service_account_impersonation_url", f.ServiceAccountImpersonationURL, endpoint.IAMCredentials},
		}
	case ImpersonatedServiceAccount:
		fields = []field{{"service_account_impersonation_url", f.ServiceAccountImpersonationURL, endpoint.IAMCredentials}}
	}
	for _, fl := range fields {
		if fl.value == "" {
			continue // x/oauth2's default is Google's own endpoint
		}
		if err := endpoint.Check(what, prefix+fl.name, fl.value, fl.service); err != nil {
			return err
		}
	}
	if f.Type == ExternalAccount && use != PodConfig {
		if err := f.CredentialSource.check(what, prefix+"credential_source", use); err != nil {
			return err
		}
	}
	if s := f.SourceCredentials; s != nil && f.Type == ImpersonatedServiceAccount {
		switch s.Type {
		case ServiceAccount, AuthorizedUser, ExternalAccount, ExternalAccountAuthorizedUser:
		default:
			return fmt.Errorf("%s: source_credentials has type %q: impersonation starts from a service_account, authorized_user or external_account", what, cli.Clip(s.Type, 60))
		}
		return s.check(what, prefix+"source_credentials.", use)
	}
	return nil
}

// awsMetadata are the hosts of AWS's instance metadata server, the only
// place an aws1 source may ask for the region, credentials and session
// token (what Google's guide to validating external credentials asks).
var awsMetadata = map[string]bool{"169.254.169.254": true, "[fd00:ec2::254]": true}

func (cs *CredentialSource) check(what, field string, use Use) error {
	if cs == nil {
		return nil
	}
	refuse := func(kind, why string) error {
		return fmt.Errorf("%s: %s: a subject token from %s is refused: %s", what, field, kind, why)
	}
	if cs.Executable != nil {
		return refuse("a program ("+field+".executable)", "gcrcred runs no program but itself and gcloud: have the program write the token to a file named in credential_source.file, or use a service-account key")
	}
	if use == Node {
		onNode := "credentials on a node are read by root for every pull, so they may not name a file or URL to send from: use a service-account key, or per-pod identity (--workload-identity) where the kubelet supplies each pod's token"
		switch {
		case cs.File != "":
			return refuse("a file ("+field+".file)", onNode)
		case cs.URL != "" && cs.EnvironmentID == "":
			return refuse("a URL ("+field+".url)", onNode)
		}
	}
	if cs.EnvironmentID != "" {
		for _, u := range []struct{ name, value string }{
			{"region_url", cs.RegionURL}, {"url", cs.URL}, {"imdsv2_session_token_url", cs.IMDSv2SessionTokenURL},
		} {
			if u.value == "" {
				continue
			}
			p, err := url.Parse(u.value)
			if err != nil || p.Scheme != "http" || !awsMetadata[p.Host] || p.User != nil {
				host := ""
				if err == nil {
					host = p.Host
				}
				return fmt.Errorf("%s: %s.%s: host %s is refused: an AWS source reads only AWS's metadata server (http://169.254.169.254 or http://[fd00:ec2::254])", what, field, u.name, cli.Clip(host, 100))
			}
		}
	}
	return nil
}

// CheckSubjectTokenFile checks that the file an external_account file
// (allowed only on a workstation) reads its subject token from is a regular
// file, opened without blocking: x/oauth2 opens it with os.Open, which
// would hang on a FIFO. It reads nothing of it.
func CheckSubjectTokenFile(data []byte) error {
	var f rulesFile
	if json.Unmarshal(data, &f) != nil {
		return nil // Check says what is wrong
	}
	if f.SourceCredentials != nil {
		f = *f.SourceCredentials
	}
	if f.Type != ExternalAccount || f.CredentialSource == nil || f.CredentialSource.File == "" {
		return nil
	}
	file, _, err := smallfile.Open(f.CredentialSource.File, "subject token file (credential_source.file)", smallfile.Options{})
	if err != nil {
		return err
	}
	return file.Close()
}

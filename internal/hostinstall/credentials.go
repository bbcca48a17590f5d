package hostinstall

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/gcrcred/gcrcred/internal/auth"
	"github.com/gcrcred/gcrcred/internal/credfile"
	"github.com/gcrcred/gcrcred/internal/settings"
)

// Credentials are what an install copies to every node.
type Credentials struct {
	Path    string // the host file
	Kind    string
	Account string
	Origin  string
	Notes   []string // said once, before the steps
}

// String is "KIND, ACCOUNT (ORIGIN)".
func (c *Credentials) String() string {
	account := c.Account
	if account == "" {
		account = "account unknown"
	}
	return fmt.Sprintf("%s, %s (%s)", c.Kind, account, c.Origin)
}

// FindCredentials discovers the host's credentials as gcrcred itself would
// (the credential order of internal/auth, from the host's settings and
// --credentials) and checks that a node of the cluster (named for
// messages: "minikube", "kind") could use a copy.
func FindCredentials(host settings.Settings, cluster string) (*Credentials, error) {
	src, err := auth.Discover(auth.Options{Settings: host})
	var named *credfile.SourceError
	switch {
	case errors.As(err, &named):
		// The advice follows what named the file: never "pass
		// --credentials" to someone who did.
		return nil, fmt.Errorf("%v: %s, and rerun", err, named.Fix())
	case err != nil:
		return nil, fmt.Errorf("%v; the nodes need a credentials file: pass --credentials KEY.json, or run `gcloud auth application-default login`, and rerun", err)
	}
	switch src.Kind {
	case auth.Metadata:
		return nil, fmt.Errorf("this host gets its Google credentials from a GCE metadata server (%s), which %s nodes cannot use: pass --credentials KEY.json (a service-account key), or run `gcloud auth application-default login` and rerun", src.Origin, cluster)
	case auth.GcloudCLI:
		return nil, fmt.Errorf("this host has only the gcloud CLI's own login (%s), which cannot be copied to a node: run `gcloud auth application-default login` (or pass --credentials KEY.json) and rerun", src.Origin)
	}
	c := &Credentials{Path: src.Path, Kind: src.Kind, Account: src.Account, Origin: src.Origin}
	data, err := credfile.ReadFile(src.Path)
	if err != nil {
		return nil, err
	}
	if err := checkPortable(data, src.Path, cluster, c); err != nil {
		return nil, err
	}
	// What `gcrcred node install` on each node will check, before any
	// node is touched.
	if err := credfile.Check(data, "credentials file "+src.Path, credfile.Node); err != nil {
		return nil, err
	}
	if err := credfile.CheckKey(data, src.Path); err != nil {
		return nil, err
	}
	if c.Kind == credfile.AuthorizedUser {
		c.Notes = append(c.Notes, "your user login (its refresh token) goes to every node; a service-account key with only Artifact Registry read access is the safer choice")
	}
	return c, nil
}

// checkPortable refuses credentials that depend on something of this host's
// that a node cannot reach: a federation file whose subject token is a host
// file or a host program (a copy of the token would go stale at its next
// rotation, silently), or a token URL on the host's loopback.
func checkPortable(data []byte, path, cluster string, c *Credentials) error {
	var f struct {
		Type              string                     `json:"type"`
		CredentialSource  *credfile.CredentialSource `json:"credential_source"`
		SourceCredentials json.RawMessage            `json:"source_credentials"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("credentials %s are not valid JSON", path)
	}
	if len(f.SourceCredentials) > 0 { // impersonation: check what it impersonates from
		if err := checkPortable(f.SourceCredentials, path+" (source_credentials)", cluster, c); err != nil {
			return err
		}
	}
	cs := f.CredentialSource
	if f.Type != credfile.ExternalAccount || cs == nil {
		return nil
	}
	alternative := "use a service-account key (--credentials KEY.json) or `gcloud auth application-default login --impersonate-service-account=SA` for " + cluster
	switch {
	case cs.File != "":
		return fmt.Errorf("workload identity federation credentials %s read their subject token from %s on this host; the nodes cannot read it, and a copy would stop working when the token is rotated: %s", path, cs.File, alternative)
	case cs.Executable != nil:
		return fmt.Errorf("workload identity federation credentials %s run %q on this host for their subject token; the nodes do not have it: %s", path, cs.Executable.Command, alternative)
	case cs.URL != "":
		if u, err := url.Parse(cs.URL); err == nil && isLoopback(u.Hostname()) {
			return fmt.Errorf("workload identity federation credentials %s fetch their subject token from %s, this host's loopback, which a node's loopback is not: %s", path, u.Host, alternative)
		}
		c.Notes = append(c.Notes, "the nodes fetch the federation subject token from "+cs.URL+" themselves: it must be reachable from inside "+cluster)
	case cs.EnvironmentID != "":
		c.Notes = append(c.Notes, "the nodes fetch the federation subject token from the cloud environment ("+cs.EnvironmentID+") themselves: it must be reachable from inside "+cluster)
	}
	return nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "::1" || len(host) > 4 && host[:4] == "127."
}

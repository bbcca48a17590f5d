package credfile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/internal/endpoint"
	"github.com/gcrcred/gcrcred/test/wintest"
)

const (
	pool = "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k"
	iam  = "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/sa@p.iam.gserviceaccount.com:generateAccessToken"
)

func js(v any) []byte { b, _ := json.Marshal(v); return b }

func key(extra map[string]any) map[string]any {
	m := map[string]any{"type": "service_account", "client_email": "sa@p.iam.gserviceaccount.com", "private_key": "k", "token_uri": "https://oauth2.googleapis.com/token"}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func user(extra map[string]any) map[string]any {
	m := map[string]any{"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r"}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func federation(source map[string]any, extra map[string]any) map[string]any {
	m := map[string]any{"type": "external_account", "audience": pool, "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
		"token_url": "https://sts.googleapis.com/v1/token", "service_account_impersonation_url": iam, "credential_source": source}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

var (
	fileSource = map[string]any{"file": "/var/run/secrets/token"}
	urlSource  = map[string]any{"url": "http://169.254.169.254/metadata/identity/oauth2/token", "headers": map[string]string{"Metadata": "True"}}
	awsSource  = map[string]any{"environment_id": "aws1", "region_url": "http://169.254.169.254/latest/meta-data/placement/availability-zone",
		"url": "http://169.254.169.254/latest/meta-data/iam/security-credentials", "imdsv2_session_token_url": "http://[fd00:ec2::254]/latest/api/token",
		"regional_cred_verification_url": "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"}
)

func TestRulesAccept(t *testing.T) {
	endpoint.SetTestLoopback(false) // the switch is off unless a process turns it on
	for _, c := range []struct {
		name string
		file map[string]any
		uses []Use
	}{
		{"key", key(nil), []Use{Workstation, Node}},
		{"key without token_uri", key(map[string]any{"token_uri": nil}), []Use{Workstation, Node}},
		{"legacy key", key(map[string]any{"token_uri": "https://accounts.google.com/o/oauth2/token"}), []Use{Workstation, Node}},
		{"key of the default universe", key(map[string]any{"universe_domain": "googleapis.com"}), []Use{Workstation, Node}},
		{"user login", user(nil), []Use{Workstation, Node}},
		{"federation from a file", federation(fileSource, nil), []Use{Workstation, PodConfig}},
		{"federation from a URL", federation(urlSource, nil), []Use{Workstation, PodConfig}},
		{"federation from AWS", federation(awsSource, nil), []Use{Workstation, Node, PodConfig}},
		{"regional PSC federation", federation(fileSource, map[string]any{"token_url": "https://sts-corp.p.googleapis.com/v1/token",
			"service_account_impersonation_url": "https://iamcredentials-corp.p.googleapis.com/v1/projects/-/serviceAccounts/a@p.iam.gserviceaccount.com:generateAccessToken"}), []Use{Workstation}},
		{"workforce login", map[string]any{"type": "external_account_authorized_user", "token_url": "https://sts.googleapis.com/v1/oauthtoken",
			"token_info_url": "https://sts.googleapis.com/v1/introspect", "revoke_url": "https://sts.googleapis.com/v1/revoke"}, []Use{Workstation, Node}},
		{"impersonation", map[string]any{"type": "impersonated_service_account", "service_account_impersonation_url": iam, "source_credentials": user(nil)}, []Use{Workstation, Node}},
	} {
		for _, use := range c.uses {
			if err := Check(js(c.file), "f.json", use); err != nil {
				t.Errorf("%s (use %d): %v", c.name, use, err)
			}
		}
	}
}

func TestRulesRefuse(t *testing.T) {
	endpoint.SetTestLoopback(false) // the switch is off unless a process turns it on
	const evil = "https://evil.example/token"
	for _, c := range []struct {
		name string
		file map[string]any
		use  Use
		want string
	}{
		{"key to a foreign host", key(map[string]any{"token_uri": evil}), Workstation, "token_uri: host evil.example is refused"},
		{"user login to a foreign host", user(map[string]any{"token_uri": evil}), Workstation, "token_uri: host evil.example is refused"},
		{"user login to another universe", user(map[string]any{"universe_domain": "example-universe.goog", "token_uri": "https://oauth2.example-universe.goog/token"}), Workstation, `universe_domain "example-universe.goog" is refused: ` + endpoint.UniverseRule},
		{"key of another universe to googleapis.com", key(map[string]any{"universe_domain": "example-universe.goog"}), Workstation, `universe_domain "example-universe.goog" is refused: ` + endpoint.UniverseRule},
		{"universe not a domain", key(map[string]any{"universe_domain": "evil.example:8443"}), Workstation, `universe_domain "evil.example:8443" is refused`},
		{"key of its own universe", key(map[string]any{"universe_domain": "evil.example", "token_uri": "https://oauth2.evil.example/token"}), Workstation, `universe_domain "evil.example" is refused: ` + endpoint.UniverseRule},
		{"key of its own universe on a node", key(map[string]any{"universe_domain": "evil.example", "token_uri": "https://oauth2.evil.example/token"}), Node, `universe_domain "evil.example"`},
		{"federation of its own universe", federation(fileSource, map[string]any{"universe_domain": "evil.example", "token_url": nil, "service_account_impersonation_url": nil}), Workstation, `universe_domain "evil.example" is refused`},
		{"pod config of its own universe", federation(fileSource, map[string]any{"universe_domain": "evil.example", "token_url": nil}), PodConfig, `universe_domain "evil.example" is refused`},
		{"case-folded universe", key(map[string]any{"UNIVERSE_DOMAIN": "evil.example"}), Node, `universe_domain "evil.example"`},
		{"impersonation from another universe", map[string]any{"type": "impersonated_service_account", "service_account_impersonation_url": iam,
			"source_credentials": key(map[string]any{"universe_domain": "evil.example", "token_uri": "https://oauth2.evil.example/token"})}, Workstation, `source_credentials.universe_domain "evil.example" is refused`},
		{"case-folded key", key(map[string]any{"TOKEN_URI": evil, "token_uri": nil}), Workstation, "token_uri: host evil.example"},
		{"federation to a foreign STS", federation(fileSource, map[string]any{"token_url": evil}), Workstation, "token_url: host evil.example is refused: it is not Google's STS"},
		{"federation to a foreign IAM", federation(fileSource, map[string]any{"service_account_impersonation_url": evil}), Workstation, "service_account_impersonation_url: host evil.example"},
		{"federation with a foreign token_info_url", federation(fileSource, map[string]any{"token_info_url": evil}), Workstation, "token_info_url: host evil.example"},
		{"pod config to a foreign STS", federation(fileSource, map[string]any{"token_url": evil}), PodConfig, "token_url: host evil.example"},
		{"workforce login revoked elsewhere", map[string]any{"type": "external_account_authorized_user", "revoke_url": evil}, Workstation, "revoke_url: host evil.example"},
		{"impersonation to a foreign IAM", map[string]any{"type": "impersonated_service_account", "service_account_impersonation_url": evil, "source_credentials": user(nil)}, Workstation, "service_account_impersonation_url: host evil.example"},
		{"impersonation from a foreign source", map[string]any{"type": "impersonated_service_account", "service_account_impersonation_url": iam, "source_credentials": user(map[string]any{"token_uri": evil})}, Workstation, "source_credentials.token_uri: host evil.example"},
		{"impersonation of impersonation", map[string]any{"type": "impersonated_service_account", "service_account_impersonation_url": iam,
			"source_credentials": map[string]any{"type": "impersonated_service_account", "service_account_impersonation_url": iam, "source_credentials": user(nil)}}, Workstation, "source_credentials has type \"impersonated_service_account\""},
		{"OAuth client", map[string]any{"type": "service_account", "installed": map[string]any{"token_uri": evil, "redirect_uris": []string{"x"}}}, Workstation, "an OAuth client"},
		{"a program", federation(map[string]any{"executable": map[string]any{"command": "/bin/sh -c x"}}, nil), Workstation, "credential_source: a subject token from a program"},
		{"a file on a node", federation(fileSource, nil), Node, "credential_source: a subject token from a file (credential_source.file) is refused"},
		{"a URL on a node", federation(urlSource, nil), Node, "credential_source: a subject token from a URL (credential_source.url) is refused"},
		{"a case-folded file on a node", federation(map[string]any{"FILE": "/etc/shadow"}, nil), Node, "from a file"},
		{"AWS elsewhere", federation(map[string]any{"environment_id": "aws1", "url": "http://evil.example/creds"}, nil), Node, "credential_source.url: host evil.example is refused: an AWS source reads only AWS's metadata server"},
		{"AWS session elsewhere", federation(map[string]any{"environment_id": "aws1", "imdsv2_session_token_url": "https://169.254.169.254/token"}, nil), Workstation, "imdsv2_session_token_url"},
		{"federation source in impersonation on a node", map[string]any{"type": "impersonated_service_account", "service_account_impersonation_url": iam, "source_credentials": federation(fileSource, nil)}, Node, "source_credentials.credential_source: a subject token from a file"},
		{"loopback without the switch", key(map[string]any{"token_uri": "http://127.0.0.1:8080/token"}), Workstation, "loopback endpoints are for gcrcred's own tests only"},
	} {
		err := Check(js(c.file), "credentials file f.json", c.use)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "credentials file f.json: ") {
			t.Errorf("%s: %v, want an error naming f.json and saying %q", c.name, err, c.want)
		}
	}
}

// Parse holds every file to the rules of its use; Locate holds the system
// file to a node's whatever the use.
func TestParseAppliesTheRules(t *testing.T) {
	endpoint.SetTestLoopback(false) // the switch is off unless a process turns it on
	if _, err := Parse(js(federation(fileSource, nil)), "f.json", "test", Workstation); err != nil {
		t.Fatalf("a workstation's federation file: %v", err)
	}
	if _, err := Parse(js(federation(fileSource, nil)), "f.json", "test", Node); err == nil {
		t.Fatal("a node took a federation file reading a file")
	}
	if _, err := Parse(js(key(map[string]any{"token_uri": "http://127.0.0.2:1/token"})), "f.json", "test", Workstation); err == nil || !strings.Contains(err.Error(), "127.0.0.2:1") {
		t.Fatalf("a foreign key: %v", err)
	}
	path := filepath.Join(wintest.TempDir(t), "fed.json")
	os.WriteFile(path, js(federation(fileSource, nil)), 0o600)
	if _, _, err := Locate(Places{Flag: path}, Workstation); err != nil {
		t.Fatalf("Locate for a workstation: %v", err)
	}
	if _, _, err := Locate(Places{Flag: path}, Node); err == nil || !strings.Contains(err.Error(), "--credentials: credentials file "+path) {
		t.Fatalf("Locate for a node: %v", err)
	}
}

// Package settings is everything gcrcred takes from its environment, read
// once, by the process front end (cmd/gcrcred), into a Settings value that
// is passed down: no other product package reads the environment. The
// front ends (helper/, provider/, the installers) are functions of their
// request and a Settings; tests build a Settings from nothing (Parse with
// the variables they choose), so what a developer has exported never
// reaches them.
//
// A command's flags override what the environment says: each front end
// copies its flags onto its Settings (the --credentials flag is
// CredentialsFlag, beside Credentials from GCRCRED_CREDENTIALS, because
// the credential order tells them apart).
package settings

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/limits"
)

// Variables gcrcred reads. Their meaning is in docs/design.md
// ("Settings"); each is read here only.
const (
	EnvCredentials           = "GCRCRED_CREDENTIALS"
	EnvGoogleCredentials     = "GOOGLE_APPLICATION_CREDENTIALS"
	EnvRegistries            = "GCRCRED_REGISTRIES"
	EnvScopes                = "GCRCRED_SCOPES"
	EnvAuth                  = "GCRCRED_AUTH" // "json-key"
	EnvCacheDir              = "GCRCRED_CACHE_DIR"
	EnvConfigDir             = "GCRCRED_CONFIG_DIR"
	EnvTimeout               = "GCRCRED_TIMEOUT"
	EnvLog                   = "GCRCRED_LOG" // "debug"
	EnvWorkloadIdentity      = "GCRCRED_WORKLOAD_IDENTITY"
	EnvRequireServiceAccount = "GCRCRED_REQUIRE_SERVICE_ACCOUNT"
	EnvPodIdentity           = "GCRCRED_POD_IDENTITY"
	EnvSubjectMapping        = "GCRCRED_SUBJECT_MAPPING"
	EnvDist                  = "GCRCRED_DIST"
	// EnvTestLoopback is the test switch of the Google endpoint rule
	// (internal/endpoint): "1" also allows http://127.0.0.1:PORT and
	// http://[::1]:PORT. Only gcrcred's own tests set it.
	EnvTestLoopback = "GCRCRED_TEST_LOOPBACK_ENDPOINTS"
)

// maxTimeout keeps a whole kubelet call under the kubelet's one-minute kill.
const maxTimeout = 22 * time.Second

// Settings are gcrcred's settings: environment variables as read, paths
// resolved from them, then a command's flags.
type Settings struct {
	// Credentials (the credential order of docs/design.md).
	CredentialsFlag   string // --credentials: beats every variable
	Credentials       string // GCRCRED_CREDENTIALS
	GoogleCredentials string // GOOGLE_APPLICATION_CREDENTIALS
	GcloudDir         string // CLOUDSDK_CONFIG, else ~/.config/gcloud (%APPDATA%\gcloud); "" with neither
	GcloudConfig      string // CLOUDSDK_ACTIVE_CONFIG_NAME: gcloud's active configuration
	GcloudAccount     string // CLOUDSDK_CORE_ACCOUNT: gcloud's account
	MetadataHost      string // GCE_METADATA_HOST
	Path              string // PATH, where the gcloud CLI is looked for
	Scopes            []string
	JSONKey           bool // GCRCRED_AUTH=json-key

	// Registries is GCRCRED_REGISTRIES, unparsed: each front end parses it
	// (internal/registries) and says in its own way what it refuses.
	Registries string

	// Where files are: resolved (see Parse).
	CacheDir     string // token cache
	LoginsDir    string // keys kept by `docker login -u _json_key`; "": none
	DockerConfig string // Docker's config.json
	Home         string

	// Limits are every wait, derived from GCRCRED_TIMEOUT, the budget of
	// one mint, every attempt included.
	Limits limits.Limits
	Debug  bool // GCRCRED_LOG=debug

	// Per-pod identity (the kubelet plugin), unparsed: provider/ checks
	// them and names the variable or flag in its errors.
	WorkloadIdentity      string
	RequireServiceAccount string
	PodIdentity           string
	SubjectMapping        string

	Dist                  string // GCRCRED_DIST: where installers find binaries for nodes
	TestLoopbackEndpoints bool   // GCRCRED_TEST_LOOPBACK_ENDPOINTS=1

	// Other tools' variables the installers honour, as those tools do.
	MinikubeHome    string // MINIKUBE_HOME
	MinikubeProfile string // MINIKUBE_PROFILE
	KindCluster     string // KIND_CLUSTER_NAME
}

// Host is what Parse needs of the machine besides the variables.
type Host struct {
	GOOS    string // runtime.GOOS
	EUID    int    // -1 on Windows
	TempDir string // where a user without HOME keeps a cache
}

// FromProcess is this process's settings: its environment, read once.
// Only cmd/gcrcred calls it.
func FromProcess() Settings {
	return Parse(os.Environ(), Host{GOOS: runtime.GOOS, EUID: os.Geteuid(), TempDir: os.TempDir()})
}

// Parse reads the settings from environ (KEY=VALUE pairs; the first of a
// key counts, as for getenv) on host.
func Parse(environ []string, host Host) Settings {
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			if _, seen := env[k]; !seen {
				env[k] = v
			}
		}
	}
	get := func(k string) string { return env[k] }
	s := Settings{
		Credentials:           get(EnvCredentials),
		GoogleCredentials:     get(EnvGoogleCredentials),
		GcloudConfig:          get("CLOUDSDK_ACTIVE_CONFIG_NAME"),
		GcloudAccount:         get("CLOUDSDK_CORE_ACCOUNT"),
		MetadataHost:          get("GCE_METADATA_HOST"),
		Path:                  get("PATH"),
		Scopes:                ParseScopes(get(EnvScopes)),
		JSONKey:               get(EnvAuth) == "json-key",
		Registries:            get(EnvRegistries),
		Home:                  get("HOME"),
		Limits:                limits.Limits{Timeout: ParseTimeout(get(EnvTimeout))},
		Debug:                 strings.EqualFold(get(EnvLog), "debug"),
		WorkloadIdentity:      get(EnvWorkloadIdentity),
		RequireServiceAccount: get(EnvRequireServiceAccount),
		PodIdentity:           get(EnvPodIdentity),
		SubjectMapping:        get(EnvSubjectMapping),
		Dist:                  get(EnvDist),
		TestLoopbackEndpoints: get(EnvTestLoopback) == "1",
		MinikubeHome:          get("MINIKUBE_HOME"),
		MinikubeProfile:       get("MINIKUBE_PROFILE"),
		KindCluster:           get("KIND_CLUSTER_NAME"),
	}
	windows := host.GOOS == "windows"
	if windows && s.Home == "" {
		s.Home = get("USERPROFILE")
	}
	s.GcloudDir = gcloudDir(get, windows)
	s.CacheDir = cacheDir(get, windows, host)
	s.LoginsDir = loginsDir(get, windows)
	s.DockerConfig = dockerConfig(get, s.Home)
	return s
}

// DefaultScope is what tokens are minted for unless GCRCRED_SCOPES says otherwise.
const DefaultScope = "https://www.googleapis.com/auth/cloud-platform"

// ParseScopes reads GCRCRED_SCOPES (comma or space separated); none is
// DefaultScope.
func ParseScopes(v string) []string {
	scopes := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
	if len(scopes) == 0 {
		return []string{DefaultScope}
	}
	return scopes
}

// ParseTimeout reads GCRCRED_TIMEOUT: a Go duration, at most 22s (the
// kubelet kills a plugin after a minute, and a call may wait 5/2 of it);
// limits.DefaultTimeout when unset, invalid or not positive.
func ParseTimeout(v string) time.Duration {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return limits.DefaultTimeout
	}
	return min(d, maxTimeout)
}

// gcloudDir is gcloud's configuration directory: $CLOUDSDK_CONFIG, else
// ~/.config/gcloud (%APPDATA%\gcloud on Windows); "" with neither.
func gcloudDir(get func(string) string, windows bool) string {
	switch {
	case get("CLOUDSDK_CONFIG") != "":
		return get("CLOUDSDK_CONFIG")
	case windows && get("APPDATA") != "":
		return filepath.Join(get("APPDATA"), "gcloud")
	case !windows && get("HOME") != "":
		return filepath.Join(get("HOME"), ".config", "gcloud")
	}
	return ""
}

// cacheDir is GCRCRED_CACHE_DIR, else (Windows) %LOCALAPPDATA%\gcrcred,
// else $XDG_CACHE_HOME/gcrcred, else ~/.cache/gcrcred; with no HOME (a
// systemd unit, the kubelet) /var/cache/gcrcred for root, and for others a
// per-uid directory under the temp dir, which internal/cache uses only if
// it passes the same rules as any other (another user who made it first
// gets no tokens from it, and gives none).
func cacheDir(get func(string) string, windows bool, host Host) string {
	switch {
	case get(EnvCacheDir) != "":
		return get(EnvCacheDir)
	case windows && get("LOCALAPPDATA") != "":
		// Where Windows programs keep what may be rebuilt (it does not
		// roam with the profile).
		return filepath.Join(get("LOCALAPPDATA"), "gcrcred")
	case get("XDG_CACHE_HOME") != "":
		return filepath.Join(get("XDG_CACHE_HOME"), "gcrcred")
	case get("HOME") != "":
		return filepath.Join(get("HOME"), ".cache", "gcrcred")
	case host.EUID == 0:
		return "/var/cache/gcrcred"
	}
	return filepath.Join(host.TempDir, "gcrcred-"+strconv.Itoa(host.EUID))
}

// loginsDir is $GCRCRED_CONFIG_DIR/logins, else (Windows)
// %APPDATA%\gcrcred\logins, else $XDG_CONFIG_HOME/gcrcred/logins, else
// ~/.config/gcrcred/logins; "" (no HOME) keeps none.
func loginsDir(get func(string) string, windows bool) string {
	var base string
	switch {
	case get(EnvConfigDir) != "":
		base = get(EnvConfigDir)
	case windows && get("APPDATA") != "":
		// Where Windows programs keep settings (they roam with the profile).
		base = filepath.Join(get("APPDATA"), "gcrcred")
	case get("XDG_CONFIG_HOME") != "":
		base = filepath.Join(get("XDG_CONFIG_HOME"), "gcrcred")
	case get("HOME") != "":
		base = filepath.Join(get("HOME"), ".config", "gcrcred")
	default:
		return ""
	}
	return filepath.Join(base, "logins")
}

// dockerConfig is $DOCKER_CONFIG/config.json, else ~/.docker/config.json
// (home is HOME, or USERPROFILE on Windows, as os.UserHomeDir has it).
func dockerConfig(get func(string) string, home string) string {
	if d := get("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "config.json")
	}
	return filepath.Join(home, ".docker", "config.json")
}

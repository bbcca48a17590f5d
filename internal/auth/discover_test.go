package auth

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/internal/credfile"
)

func writeFile(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// isolate clears every variable Discover reads.
func isolate(t *testing.T) string {
	home := t.TempDir()
	for _, k := range []string{"GCRCRED_CREDENTIALS", "GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", "GCRCRED_SCOPES", "CLOUDSDK_CORE_ACCOUNT", "CLOUDSDK_ACTIVE_CONFIG_NAME"} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", home)
	t.Setenv("PATH", t.TempDir()) // no gcloud
	t.Setenv("GCE_METADATA_HOST", closedAddr(t))
	return home
}

const userJSON = `{"type":"authorized_user","client_id":"cid","client_secret":"s","refresh_token":"r"}`

func saJSON(email string) string {
	return `{"type":"service_account","client_email":"` + email + `","private_key":"-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n"}`
}

func TestDiscoverOrder(t *testing.T) {
	home := isolate(t)
	dir := t.TempDir()
	a := writeFile(t, filepath.Join(dir, "a.json"), saJSON("a@p.iam.gserviceaccount.com"))
	b := writeFile(t, filepath.Join(dir, "b.json"), saJSON("b@p.iam.gserviceaccount.com"))
	writeFile(t, filepath.Join(home, ".config", "gcloud", "application_default_credentials.json"), userJSON)

	s, err := Discover(Options{})
	if err != nil || s.Kind != credfile.AuthorizedUser || !strings.Contains(s.Origin, "application default") {
		t.Fatalf("ADC: %+v %v", s, err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", b)
	if s, _ := Discover(Options{}); s.Account != "b@p.iam.gserviceaccount.com" {
		t.Fatalf("GOOGLE_APPLICATION_CREDENTIALS not preferred over ADC: %s", s.Origin)
	}
	t.Setenv("GCRCRED_CREDENTIALS", a)
	if s, _ := Discover(Options{}); s.Account != "a@p.iam.gserviceaccount.com" {
		t.Fatalf("GCRCRED_CREDENTIALS not preferred: %s", s.Origin)
	}
	if s, _ := Discover(Options{CredentialsFile: b}); s.Account != "b@p.iam.gserviceaccount.com" {
		t.Fatalf("--credentials not preferred: %s", s.Origin)
	}
}

func TestDiscoverNothingFailsFastAndSaysWhatToDo(t *testing.T) {
	isolate(t)
	start := time.Now()
	_, err := Discover(Options{})
	if !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("want ErrNoCredentials, got %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("took %s", took)
	}
	for _, want := range []string{"GCRCRED_CREDENTIALS", "gcloud auth application-default login", "metadata server", "gcloud CLI"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestDiscoverNoHome(t *testing.T) {
	isolate(t)
	os.Unsetenv("HOME")
	if _, err := Discover(Options{}); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("no HOME: %v", err)
	}
	key := writeFile(t, filepath.Join(t.TempDir(), "k.json"), saJSON("x@p.iam.gserviceaccount.com"))
	t.Setenv("GCRCRED_CREDENTIALS", key)
	os.Unsetenv("HOME")
	s, err := Discover(Options{})
	if err != nil || s.CacheDir() == "" {
		t.Fatalf("no HOME with a key: %v, cache dir %q", err, s.CacheDir())
	}
}

func TestCacheIdentityDependsOnCredentialsAndScopes(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	a := writeFile(t, filepath.Join(dir, "a.json"), saJSON("a@p.iam.gserviceaccount.com"))
	b := writeFile(t, filepath.Join(dir, "b.json"), saJSON("b@p.iam.gserviceaccount.com"))
	sa, _ := Discover(Options{CredentialsFile: a})
	sb, _ := Discover(Options{CredentialsFile: b})
	sa2, _ := Discover(Options{CredentialsFile: a, Scopes: []string{"https://www.googleapis.com/auth/devstorage.read_only"}})
	sa3, _ := Discover(Options{CredentialsFile: a})
	if sa.cacheKey == sb.cacheKey || sa.cacheKey == sa2.cacheKey || sa.cacheKey != sa3.cacheKey {
		t.Fatalf("cache keys: a=%s b=%s a(scoped)=%s a again=%s", sa.cacheKey, sb.cacheKey, sa2.cacheKey, sa3.cacheKey)
	}
}

func TestMalformedPresentFileIsAnError(t *testing.T) {
	home := isolate(t)
	writeFile(t, filepath.Join(home, ".config", "gcloud", "application_default_credentials.json"), `{"type":`)
	_, err := Discover(Options{})
	if err == nil || errors.Is(err, ErrNoCredentials) || !strings.Contains(err.Error(), "not valid JSON") {
		t.Fatalf("malformed ADC: %v", err)
	}
}

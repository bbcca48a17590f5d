package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/internal/credfile"
	"github.com/gcrcred/gcrcred/internal/settings"
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

// env is the environment of one test: a private HOME, no gcloud on PATH, a
// closed metadata address, then kv (KEY=VALUE, later wins). Discover sees
// only what the test sets, never the developer's own variables.
type env struct {
	t    *testing.T
	home string
	kv   []string
}

func isolate(t *testing.T) *env {
	e := &env{t: t, home: t.TempDir()}
	e.kv = []string{"HOME=" + e.home, "PATH=" + t.TempDir(), "GCE_METADATA_HOST=" + closedAddr(t)}
	return e
}

func (e *env) set(kv ...string) { e.kv = append(e.kv, kv...) }

func (e *env) settings() settings.Settings {
	return settings.Parse(e.kv, settings.Host{GOOS: runtime.GOOS, EUID: os.Geteuid(), TempDir: e.t.TempDir()})
}

// opts are the Options the environment gives, with --credentials flag.
func (e *env) opts(flag string) Options {
	s := e.settings()
	s.CredentialsFlag = flag
	return Options{Settings: s}
}

const userJSON = `{"type":"authorized_user","client_id":"cid","client_secret":"s","refresh_token":"r"}`

func saJSON(email string) string {
	key, _ := json.Marshal(testKey())
	return `{"type":"service_account","client_email":"` + email + `","private_key":` + string(key) + `}`
}

// testKey is an RSA private key in PEM, as a key file carries it (credfile
// checks that it parses).
var testKey = sync.OnceValue(func() string {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
})

func TestDiscoverOrder(t *testing.T) {
	e := isolate(t)
	home := e.home
	dir := t.TempDir()
	a := writeFile(t, filepath.Join(dir, "a.json"), saJSON("a@p.iam.gserviceaccount.com"))
	b := writeFile(t, filepath.Join(dir, "b.json"), saJSON("b@p.iam.gserviceaccount.com"))
	writeFile(t, filepath.Join(home, ".config", "gcloud", "application_default_credentials.json"), userJSON)

	s, err := Discover(e.opts(""))
	if err != nil || s.Kind != credfile.AuthorizedUser || !strings.Contains(s.Origin, "application default") {
		t.Fatalf("ADC: %+v %v", s, err)
	}
	e.set("GOOGLE_APPLICATION_CREDENTIALS=" + b)
	if s, _ := Discover(e.opts("")); s.Account != "b@p.iam.gserviceaccount.com" {
		t.Fatalf("GOOGLE_APPLICATION_CREDENTIALS not preferred over ADC: %s", s.Origin)
	}
	e.set("GCRCRED_CREDENTIALS=" + a)
	if s, _ := Discover(e.opts("")); s.Account != "a@p.iam.gserviceaccount.com" {
		t.Fatalf("GCRCRED_CREDENTIALS not preferred: %s", s.Origin)
	}
	if s, _ := Discover(e.opts(b)); s.Account != "b@p.iam.gserviceaccount.com" {
		t.Fatalf("--credentials not preferred: %s", s.Origin)
	}
}

func TestDiscoverNothingFailsFastAndSaysWhatToDo(t *testing.T) {
	e := isolate(t)
	start := time.Now()
	_, err := Discover(e.opts(""))
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
	e := isolate(t)
	e.kv = e.kv[1:] // no HOME
	if _, err := Discover(e.opts("")); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("no HOME: %v", err)
	}
	key := writeFile(t, filepath.Join(t.TempDir(), "k.json"), saJSON("x@p.iam.gserviceaccount.com"))
	e.set("GCRCRED_CREDENTIALS=" + key)
	s, err := Discover(e.opts(""))
	if err != nil || s.CacheDir() == "" {
		t.Fatalf("no HOME with a key: %v, cache dir %q", err, s.CacheDir())
	}
}

func TestCacheIdentityDependsOnCredentialsAndScopes(t *testing.T) {
	e := isolate(t)
	dir := t.TempDir()
	a := writeFile(t, filepath.Join(dir, "a.json"), saJSON("a@p.iam.gserviceaccount.com"))
	b := writeFile(t, filepath.Join(dir, "b.json"), saJSON("b@p.iam.gserviceaccount.com"))
	sa, _ := Discover(e.opts(a))
	sb, _ := Discover(e.opts(b))
	scoped := e.opts(a)
	scoped.Settings.Scopes = []string{"https://www.googleapis.com/auth/devstorage.read_only"}
	sa2, _ := Discover(scoped)
	sa3, _ := Discover(e.opts(a))
	if sa.cacheKey == sb.cacheKey || sa.cacheKey == sa2.cacheKey || sa.cacheKey != sa3.cacheKey {
		t.Fatalf("cache keys: a=%s b=%s a(scoped)=%s a again=%s", sa.cacheKey, sb.cacheKey, sa2.cacheKey, sa3.cacheKey)
	}
}

func TestMalformedPresentFileIsAnError(t *testing.T) {
	e := isolate(t)
	writeFile(t, filepath.Join(e.home, ".config", "gcloud", "application_default_credentials.json"), `{"type":`)
	_, err := Discover(e.opts(""))
	if err == nil || errors.Is(err, ErrNoCredentials) || !strings.Contains(err.Error(), "not valid JSON") {
		t.Fatalf("malformed ADC: %v", err)
	}
}

// gcloud's output is read up to maxGcloudOutput: a gcloud that never stops
// printing is cut off at once with an error, not read into memory until
// the attempt's time runs out. (Only a workstation runs gcloud.)
func TestGcloudOutputIsBounded(t *testing.T) {
	e := isolate(t)
	bin := t.TempDir()
	conf := t.TempDir()
	writeFile(t, filepath.Join(conf, "configurations", "config_default"), "[core]\naccount = dev@example.com\n")
	line := strings.Repeat("x", 1023)
	writeFile(t, filepath.Join(bin, "gcloud"), "#!/bin/sh\nwhile :; do echo "+line+"; done\n")
	if err := os.Chmod(filepath.Join(bin, "gcloud"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i, kv := range e.kv {
		if strings.HasPrefix(kv, "PATH=") {
			e.kv[i] = "PATH=" + bin
		}
	}
	e.set("CLOUDSDK_CONFIG="+conf, "GCRCRED_TIMEOUT=20s")
	s, err := Discover(e.opts(""))
	if err != nil || s.Kind != GcloudCLI {
		t.Fatalf("discovery on a workstation: %+v %v", s, err)
	}
	start := time.Now()
	_, err = s.Minter(context.Background()).Token()
	if err == nil || !strings.Contains(err.Error(), "gcloud config config-helper printed more than 1048576 bytes") {
		t.Fatalf("endless output: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s", took)
	}
}

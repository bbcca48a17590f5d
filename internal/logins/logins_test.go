//go:build !windows

package logins

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// key is a service-account key with a real RSA key (credfile checks that
// it parses).
var key = func() string {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	pk, _ := json.Marshal(string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})))
	return `{"type":"service_account","client_email":"k@p.iam.gserviceaccount.com","private_key":` + string(pk) + `}`
}()

func TestSaveKeyHostsRemove(t *testing.T) {
	l := Store{Dir: filepath.Join(t.TempDir(), "logins")}
	if l.Key("gcr.io") != nil {
		t.Fatal("a key before any login")
	}
	for _, host := range []string{"gcr.io", "registry.example.com:5000"} {
		if err := l.Save(host, []byte(key)); err != nil {
			t.Fatal(err)
		}
	}
	if f := l.Key("registry.example.com:5000"); f == nil || f.Account != "k@p.iam.gserviceaccount.com" {
		t.Fatalf("Key = %+v", f)
	}
	if fi, _ := os.Stat(filepath.Join(l.Dir, "registry.example.com_5000.json")); fi == nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("kept key file: %v", fi)
	}
	hosts, err := l.Hosts()
	slices.Sort(hosts)
	if err != nil || !slices.Equal(hosts, []string{"gcr.io", "registry.example.com:5000"}) {
		t.Fatalf("Hosts = %v, %v", hosts, err)
	}
	if err := l.Remove("gcr.io"); err != nil || l.Key("gcr.io") != nil {
		t.Fatalf("Remove: %v", err)
	}
	if err := l.Remove("gcr.io"); err != nil {
		t.Fatalf("removing twice: %v", err)
	}
}

// A kept file is believed only if it is a service-account key this user
// wrote: anything else counts as no login.
func TestKeyIgnoresWhatIsNotAKeptKey(t *testing.T) {
	l := Store{Dir: filepath.Join(t.TempDir(), "logins")}
	if err := l.Save("gcr.io", []byte(key)); err != nil {
		t.Fatal(err)
	}
	for name, write := range map[string]func(p string){
		"a user login": func(p string) {
			os.WriteFile(p, []byte(`{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r"}`), 0o600)
		},
		"not JSON":        func(p string) { os.WriteFile(p, []byte("{"), 0o600) },
		"readable by all": func(p string) { os.WriteFile(p, []byte(key), 0o644); os.Chmod(p, 0o644) },
		"a symbolic link": func(p string) {
			target := filepath.Join(t.TempDir(), "k.json")
			os.WriteFile(target, []byte(key), 0o600)
			os.Remove(p)
			os.Symlink(target, p)
		},
	} {
		p := filepath.Join(l.Dir, "us.gcr.io.json")
		os.Remove(p)
		write(p)
		if f := l.Key("us.gcr.io"); f != nil {
			t.Errorf("%s: believed as a kept key", name)
		}
	}
	if (Store{}).Key("gcr.io") != nil || (Store{}).Save("gcr.io", []byte(key)) == nil {
		t.Fatal("no directory (no HOME) must keep nothing, and say so on save")
	}
}

// Package security holds the black-box tests of gcrcred's trust rules: the
// built binary, run the way Docker and the kubelet run it, against files and
// directories set up by another user. gcrcred runs as root in every kubelet,
// so these run as root, with a second, unprivileged user (uid 65534 or
// 1000) as the attacker or the victim, because that is where such rules
// break.
package security

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/test/fakegoogle"
	"github.com/gcrcred/gcrcred/test/testbin"
)

const (
	attacker = 65534 // nobody
	victim   = 1000
	planted  = "planted-token-from-another-user"
)

// cacheFile asks `gcrcred doctor` which cache file holds the token for env's
// credentials: the test plants there what another user could.
func cacheFile(t *testing.T, env []string) string {
	t.Helper()
	r := testbin.Run(t, env, nil, "gcrcred", "doctor")
	m := regexp.MustCompile(`(?m)^cache:\s+(\S+\.json)`).FindStringSubmatch(r.Stdout)
	if m == nil {
		t.Fatalf("doctor names no cache file:\n%s", r.Stdout)
	}
	return m[1]
}

// entry is a cache file as gcrcred writes it, for the same key.
func entry(t *testing.T, path string, expiry time.Time) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var e map[string]any
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	e["access_token"] = planted
	e["expiry"] = expiry.Format(time.RFC3339)
	out, _ := json.Marshal(e)
	return out
}

// get runs the Docker helper's get for gcr.io and returns the secret.
func get(t *testing.T, o testbin.Options) (secret string, r testbin.Result) {
	t.Helper()
	o.Stdin = strings.NewReader("gcr.io")
	r = testbin.RunWith(t, o, "docker-credential-gcrcred", "get")
	var c struct{ Secret string }
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &c) != nil {
		t.Fatalf("get: exit %d: %s %s", r.Code, r.Stdout, r.Stderr)
	}
	return c.Secret, r
}

// world is a fake Google, a key readable by every test user, and a scratch
// directory every test user can reach.
type world struct {
	g       *fakegoogle.Google
	key     string
	scratch string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	testbin.NeedRoot(t)
	g := testbin.Google(t)
	scratch := t.TempDir()
	must(t, os.Chmod(scratch, 0o755))
	must(t, os.Chmod(filepath.Dir(scratch), 0o755)) // t.TempDir's parent is 0700
	key, _, err := g.WriteServiceAccountKey(scratch, "victim")
	must(t, err)
	must(t, os.Chmod(key, 0o644)) // the victim user must read it
	return &world{g: g, key: key, scratch: scratch}
}

func (w *world) env(t *testing.T, extra ...string) []string {
	return testbin.Env(t, append([]string{"GCRCRED_CREDENTIALS=" + w.key}, extra...)...)
}

// mkdirAs makes a directory owned by uid with mode.
func mkdirAs(t *testing.T, path string, uid int, mode os.FileMode) {
	t.Helper()
	must(t, os.MkdirAll(path, 0o700))
	must(t, os.Chown(path, uid, uid))
	must(t, os.Chmod(path, mode))
}

func writeAs(t *testing.T, path string, data []byte, uid int, mode os.FileMode) {
	t.Helper()
	must(t, os.WriteFile(path, data, mode))
	must(t, os.Chown(path, uid, uid))
	must(t, os.Chmod(path, mode))
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	must(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The cache directory is someone else's (planted before the victim's first
// pull): root must neither read a token from it nor write one to it.
func TestCacheDirectoryOfAnotherUserIsNotUsed(t *testing.T) {
	w := newWorld(t)
	dir := filepath.Join(w.scratch, "cache")
	env := w.env(t, "GCRCRED_CACHE_DIR="+dir)
	file := cacheFile(t, env)
	get(t, testbin.Options{Env: env}) // gcrcred writes a genuine entry...
	good := entry(t, file, time.Now().Add(time.Hour))
	must(t, os.RemoveAll(dir))

	mkdirAs(t, dir, attacker, 0o755) // ...and the attacker plants the same, in their own directory
	writeAs(t, file, good, attacker, 0o600)
	before := names(t, dir)
	for i := 0; i < 2; i++ {
		secret, _ := get(t, testbin.Options{Env: env})
		if secret == planted || !w.g.Valid(secret) {
			t.Fatalf("run %d: got %q", i, secret)
		}
	}
	if w.g.Count("token") != 3 {
		t.Fatalf("%d token requests for 3 gets: a token was cached in the attacker's directory", w.g.Count("token"))
	}
	if after := names(t, dir); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("files in the attacker's directory changed: %v -> %v", before, after)
	}
}

// A shared 1777 directory (GCRCRED_CACHE_DIR=/tmp/shared, say) is not
// private: not used, and never chmodded.
func TestSharedDirectoryIsNotUsedNorChmodded(t *testing.T) {
	w := newWorld(t)
	dir := filepath.Join(w.scratch, "shared")
	mkdirAs(t, dir, 0, 0o777|os.ModeSticky)
	env := w.env(t, "GCRCRED_CACHE_DIR="+dir, "GCRCRED_LOG=debug")
	_, r := get(t, testbin.Options{Env: env})
	if !strings.Contains(r.Stderr, "writable by group or others") {
		t.Errorf("the debug log does not say why the cache is not used: %s", r.Stderr)
	}
	get(t, testbin.Options{Env: env})
	fi, err := os.Stat(dir)
	must(t, err)
	if fi.Mode()&(os.ModePerm|os.ModeSticky) != 0o777|os.ModeSticky {
		t.Fatalf("the shared directory became %v", fi.Mode())
	}
	if n := names(t, dir); len(n) != 0 || w.g.Count("token") != 2 {
		t.Fatalf("wrote %v into a shared directory; %d token requests", n, w.g.Count("token"))
	}
}

// A non-root user without HOME (a systemd unit) defaults to a per-uid
// directory under the temp dir, a path another user can squat: as a
// symlink to their own directory, or as their own directory.
func TestSquattedDefaultCacheDirectory(t *testing.T) {
	w := newWorld(t)
	for _, squat := range []string{"symlink", "directory"} {
		t.Run(squat, func(t *testing.T) {
			tmp := filepath.Join(w.scratch, "tmp-"+squat)
			mkdirAs(t, tmp, 0, 0o777|os.ModeSticky)
			theirs := filepath.Join(w.scratch, "theirs-"+squat)
			mkdirAs(t, theirs, attacker, 0o755)
			def := filepath.Join(tmp, "gcrcred-1000")
			if squat == "symlink" {
				must(t, os.Symlink(theirs, def))
				must(t, os.Lchown(def, attacker, attacker))
			} else {
				mkdirAs(t, def, attacker, 0o777)
			}
			env := testbin.Unset(testbin.Unset(w.env(t, "TMPDIR="+tmp), "HOME"), "GCRCRED_CACHE_DIR")
			user := &syscall.Credential{Uid: victim, Gid: victim}
			before := w.g.Count("token")
			for i := 0; i < 2; i++ {
				if secret, _ := get(t, testbin.Options{Env: env, User: user}); !w.g.Valid(secret) {
					t.Fatalf("got %q", secret)
				}
			}
			if n := w.g.Count("token") - before; n != 2 {
				t.Fatalf("%d token requests for 2 gets: the squatted directory was used", n)
			}
			for _, d := range []string{theirs, def} {
				if fi, err := os.Lstat(d); err == nil && fi.IsDir() {
					if n := names(t, d); len(n) != 0 {
						t.Fatalf("the victim wrote %v into %s", n, d)
					}
				}
			}
		})
	}
}

// Inside the user's own cache directory, a symlink in place of a cache file
// (towards a file another user controls) is not followed, and a token that
// claims to live longer than any Google token is not believed.
func TestCacheFileMustBeWhatGcrcredWrote(t *testing.T) {
	w := newWorld(t)
	cases := map[string]func(t *testing.T, file string, good []byte){
		"symlink to another user's file": func(t *testing.T, file string, good []byte) {
			target := filepath.Join(w.scratch, "target-"+filepath.Base(file))
			writeAs(t, target, good, attacker, 0o600)
			must(t, os.Symlink(target, file))
		},
		"owned by another user": func(t *testing.T, file string, good []byte) {
			writeAs(t, file, good, attacker, 0o600)
		},
		"readable by others": func(t *testing.T, file string, good []byte) {
			writeAs(t, file, good, 0, 0o644)
		},
		"expiring in 48 hours": func(t *testing.T, file string, good []byte) {
			var e map[string]any
			must(t, json.Unmarshal(good, &e))
			e["expiry"] = time.Now().Add(48 * time.Hour).Format(time.RFC3339)
			b, _ := json.Marshal(e)
			writeAs(t, file, b, 0, 0o600)
		},
	}
	for name, plant := range cases {
		t.Run(name, func(t *testing.T) {
			env := w.env(t)
			file := cacheFile(t, env)
			get(t, testbin.Options{Env: env})
			good := entry(t, file, time.Now().Add(time.Hour))
			must(t, os.Remove(file))
			plant(t, file, good)
			before := w.g.Count("token")
			secret, _ := get(t, testbin.Options{Env: env})
			if secret == planted || w.g.Count("token") != before+1 {
				t.Fatalf("served %q after %d token requests: the planted entry was believed", secret, w.g.Count("token")-before)
			}
		})
	}
}

// A lock file is opened without following symlinks: a link planted there
// must not make root create or truncate a file elsewhere.
func TestLockSymlinkIsNotFollowed(t *testing.T) {
	w := newWorld(t)
	env := w.env(t)
	file := cacheFile(t, env)
	must(t, os.RemoveAll(filepath.Dir(file))) // doctor minted and locked
	must(t, os.MkdirAll(filepath.Dir(file), 0o700))
	elsewhere := filepath.Join(w.scratch, "created-by-root")
	must(t, os.Symlink(elsewhere, file+".lock"))
	if secret, _ := get(t, testbin.Options{Env: env}); !w.g.Valid(secret) {
		t.Fatalf("got %q", secret)
	}
	if _, err := os.Lstat(elsewhere); err == nil {
		t.Fatal("root created the file a planted lock symlink pointed at")
	}
}

// The kubelet is never told to cache a token for more than 12 hours, even
// when an endpoint claims a longer life.
func TestKubeletCacheDurationIsAtMostTwelveHours(t *testing.T) {
	w := newWorld(t)
	w.g.SetTokenLifetime(48 * time.Hour)
	req := `{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"gcr.io/p/i"}`
	r := testbin.Run(t, w.env(t), []byte(req), "gcrcred", "get-credentials")
	var resp struct{ CacheDuration string }
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &resp) != nil {
		t.Fatalf("exit %d: %s %s", r.Code, r.Stdout, r.Stderr)
	}
	d, err := time.ParseDuration(resp.CacheDuration)
	if err != nil || d > 12*time.Hour || d < 11*time.Hour {
		t.Fatalf("cacheDuration %q", resp.CacheDuration)
	}
}

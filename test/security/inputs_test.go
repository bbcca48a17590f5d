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

	"github.com/gcrcred/gcrcred/test/systrace"
	"github.com/gcrcred/gcrcred/test/testbin"
)

// Server URLs that a lenient URL parser reads as gcr.io, or as another host
// when gcrcred reads gcr.io: none is served, and Google is never asked.
var trickyURLs = []string{
	"https://evil.com@gcr.io",
	"https://gcr.io@evil.com",
	"evil.com@gcr.io",
	"https://gcr.io\\@evil.com/",
	"gcr.io\\evil.com",
	"https://gcr%2eio/",
	"gcr.io%2f@evil.com",
	"gcr.io\x00.evil.com",
	"https://gcr.io\t.evil.com/",
	"ftp://gcr.io",
	"gcr.io:99999",
}

func TestServerURLsAreHeldToTheLetter(t *testing.T) {
	t.Parallel()
	g, key, _ := testbin.GoogleWithKey(t, "puller")
	env := testbin.Env(t, "GCRCRED_CREDENTIALS="+key)
	for _, u := range trickyURLs {
		r := testbin.Run(t, env, []byte(u), "docker-credential-gcrcred", "get")
		if r.Code != 1 || strings.TrimSpace(r.Stdout) != "credentials not found in native keychain" {
			t.Errorf("get %q: exit %d, %q", u, r.Code, r.Stdout)
		}
		if strings.Contains(u, "://") {
			continue // images name no scheme
		}
		image := u + "/p/i"
		req, _ := json.Marshal(map[string]string{"apiVersion": "credentialprovider.kubelet.k8s.io/v1", "kind": "CredentialProviderRequest", "image": image})
		r = testbin.Run(t, env, req, "gcrcred", "get-credentials")
		var resp struct{ Auth map[string]any }
		if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &resp) != nil || len(resp.Auth) != 0 {
			t.Errorf("get-credentials for image %q: exit %d, %s %s", image, r.Code, r.Stdout, r.Stderr)
		}
	}
	if n := g.Count("token"); n != 0 {
		t.Fatalf("%d token requests for hosts that are not served", n)
	}
}

// Extra patterns that would match many organisations' hosts are refused:
// the flags that take them fail with the reason, the environment variable's
// bad patterns are not served (and said so), its good ones still are.
func TestBroadRegistryPatternsAreRefused(t *testing.T) {
	t.Parallel()
	g, key, _ := testbin.GoogleWithKey(t, "puller")
	for _, p := range []string{"*", "*.*", "*.com", "*.co.uk", "*.github.io"} {
		r := testbin.Run(t, testbin.Env(t), nil, "gcrcred", "kubelet-config", "--registries", p)
		if r.Code != 2 || !strings.Contains(r.Stderr, "registry pattern") {
			t.Errorf("kubelet-config --registries %q: exit %d: %s", p, r.Code, r.Stderr)
		}
	}
	env := testbin.Env(t, "GCRCRED_CREDENTIALS="+key, "GCRCRED_REGISTRIES=*.com,registry.corp.example.com")
	r := testbin.Run(t, env, []byte("https://registry.evil.com"), "docker-credential-gcrcred", "get")
	if r.Code != 1 || !strings.Contains(r.Stdout, "not found") || !strings.Contains(r.Stderr, "public suffix \"com\"") {
		t.Fatalf("get under *.com: exit %d, %q, %q", r.Code, r.Stdout, r.Stderr)
	}
	r = testbin.Run(t, env, []byte("registry.corp.example.com"), "docker-credential-gcrcred", "get")
	if r.Code != 0 || g.Count("token") != 1 {
		t.Fatalf("a good extra pattern stopped working: exit %d %s", r.Code, r.Stdout)
	}
	for _, ok := range []string{"corp.example.com", "*.corp.example.com"} {
		if r := testbin.Run(t, testbin.Env(t), nil, "gcrcred", "kubelet-config", "--registries", ok); r.Code != 0 {
			t.Errorf("kubelet-config --registries %q refused: %s", ok, r.Stderr)
		}
	}
}

// Every command that reads stdin gives up after a bounded wait, with a clear
// message and a non-zero exit, when nothing comes and stdin stays open.
func TestSilentStdinIsABoundedWait(t *testing.T) {
	t.Parallel()
	_, key, _ := testbin.GoogleWithKey(t, "puller")
	env := testbin.Env(t, "GCRCRED_CREDENTIALS="+key, "GCRCRED_TIMEOUT=1s") // waits 500ms
	for _, argv := range [][]string{
		{"docker-credential-gcrcred", "get"},
		{"docker-credential-gcrcred", "store"},
		{"docker-credential-gcrcred", "erase"},
		{"gcrcred", "get-credentials"},
	} {
		r, w, err := os.Pipe()
		must(t, err)
		res := testbin.RunWith(t, testbin.Options{Env: env, Stdin: r}, argv[0], argv[1:]...)
		w.Close()
		r.Close()
		out := res.Stdout + res.Stderr
		if res.Code == 0 || !strings.Contains(out, "no input on stdin within 500ms") || res.Took > 5*time.Second {
			t.Errorf("%v: exit %d after %s: %q", argv, res.Code, res.Took, out)
		}
	}
}

// configure-docker run by root on a user's config keeps its owner and mode;
// it follows a symlinked config.json only when the link and the target
// belong to the owner of the config directory.
func TestConfigureDockerRespectsOwnership(t *testing.T) {
	testbin.NeedRoot(t)
	home := t.TempDir()
	must(t, os.Chmod(filepath.Dir(home), 0o755))
	docker := filepath.Join(home, ".docker")
	mkdirAs(t, home, victim, 0o755)
	mkdirAs(t, docker, victim, 0o700)
	config := filepath.Join(docker, "config.json")
	env := testbin.Env(t, "DOCKER_CONFIG="+docker)

	t.Run("a user's file keeps its owner and mode", func(t *testing.T) {
		writeAs(t, config, []byte(`{"auths":{}}`), victim, 0o640)
		if r := testbin.Run(t, env, nil, "gcrcred", "configure-docker"); r.Code != 0 {
			t.Fatalf("exit %d: %s", r.Code, r.Stderr)
		}
		assertOwnerMode(t, config, victim, 0o640)
		must(t, os.Remove(config))
	})
	t.Run("a new file belongs to the directory's owner", func(t *testing.T) {
		if r := testbin.Run(t, env, nil, "gcrcred", "configure-docker"); r.Code != 0 {
			t.Fatalf("exit %d: %s", r.Code, r.Stderr)
		}
		assertOwnerMode(t, config, victim, 0o600)
		must(t, os.Remove(config))
	})
	t.Run("a dotfiles link of the user is followed", func(t *testing.T) {
		dotfiles := filepath.Join(home, "dotfiles")
		mkdirAs(t, dotfiles, victim, 0o755)
		target := filepath.Join(dotfiles, "docker.json")
		writeAs(t, target, []byte(`{}`), victim, 0o644)
		must(t, os.Symlink(target, config))
		must(t, os.Lchown(config, victim, victim))
		if r := testbin.Run(t, env, nil, "gcrcred", "configure-docker"); r.Code != 0 {
			t.Fatalf("exit %d: %s", r.Code, r.Stderr)
		}
		if fi, _ := os.Lstat(config); fi.Mode()&os.ModeSymlink == 0 {
			t.Fatal("the link was replaced by a file")
		}
		if b, _ := os.ReadFile(target); !strings.Contains(string(b), `"gcr.io": "gcrcred"`) {
			t.Fatalf("target not edited: %s", b)
		}
		assertOwnerMode(t, target, victim, 0o644)
		must(t, os.Remove(config))
	})
	t.Run("a link towards root's file is refused", func(t *testing.T) {
		rootFile := filepath.Join(t.TempDir(), "root-owned.json")
		must(t, os.WriteFile(rootFile, []byte(`{"root":"secret"}`), 0o600))
		must(t, os.Symlink(rootFile, config))
		must(t, os.Lchown(config, victim, victim))
		r := testbin.Run(t, env, nil, "gcrcred", "configure-docker")
		if r.Code == 0 || !strings.Contains(r.Stderr, "refusing to write through it") {
			t.Fatalf("exit %d: %s", r.Code, r.Stderr)
		}
		if b, _ := os.ReadFile(rootFile); string(b) != `{"root":"secret"}` {
			t.Fatalf("root's file was changed: %s", b)
		}
		must(t, os.Remove(config))
	})
	t.Run("a config directory linked towards root's is refused", func(t *testing.T) {
		rootDir := t.TempDir()
		rootFile := filepath.Join(rootDir, "config.json")
		must(t, os.WriteFile(rootFile, []byte(`{"auths":{"root.example":{"auth":"cm9vdA=="}}}`), 0o600))
		linked := filepath.Join(home, ".docker-linked")
		must(t, os.Symlink(rootDir, linked))
		must(t, os.Lchown(linked, victim, victim))
		r := testbin.Run(t, testbin.Env(t, "DOCKER_CONFIG="+linked), nil, "gcrcred", "configure-docker")
		if r.Code == 0 || !strings.Contains(r.Stderr, "refusing to write through it") {
			t.Fatalf("exit %d: %s", r.Code, r.Stderr)
		}
		if b, _ := os.ReadFile(rootFile); string(b) != `{"auths":{"root.example":{"auth":"cm9vdA=="}}}` {
			t.Fatalf("root's file was changed: %s", b)
		}
		assertOwnerMode(t, rootFile, 0, 0o600)
	})
	t.Run("a config directory linked to the user's dotfiles is followed", func(t *testing.T) {
		dotdir := filepath.Join(home, "dotfiles-docker")
		mkdirAs(t, dotdir, victim, 0o700)
		linked := filepath.Join(home, ".docker-dotfiles")
		must(t, os.Symlink(dotdir, linked))
		must(t, os.Lchown(linked, victim, victim))
		r := testbin.Run(t, testbin.Env(t, "DOCKER_CONFIG="+linked), nil, "gcrcred", "configure-docker")
		if r.Code != 0 {
			t.Fatalf("exit %d: %s", r.Code, r.Stderr)
		}
		assertOwnerMode(t, filepath.Join(dotdir, "config.json"), victim, 0o600)
	})
}

func assertOwnerMode(t *testing.T, path string, uid int, mode os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	must(t, err)
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != uid || fi.Mode().Perm() != mode {
		t.Fatalf("%s is now uid %d mode %v, want uid %d mode %v", path, st.Uid, fi.Mode().Perm(), uid, mode)
	}
}

// gcrcred executes nothing but itself: under a tracer that sees every
// exec of its process tree, a cold and a warm `get` become no program but
// the test's own, attempt no execve or execveat (a failed one included)
// and no memfd_create, and nothing executable is written anywhere.
func TestExecutesNothingButItself(t *testing.T) {
	_, key, _ := testbin.GoogleWithKey(t, "puller")
	env := testbin.Env(t, "GCRCRED_CREDENTIALS="+key)
	home := envValue(env, "HOME")
	helper, err := filepath.EvalSymlinks(filepath.Join(testbin.Build(t), "gcrcred"))
	must(t, err)
	for _, phase := range []string{"cold", "warm"} {
		r := tracedGet(t, env, "execve", "execveat", "memfd_create")
		if len(r.Execs) != 1 || r.Execs[0] != helper || len(r.Calls) != 0 {
			t.Fatalf("%s get: became %q and called:\n%s", phase, r.Execs, r.Trace())
		}
	}
	filepath.WalkDir(home, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, _ := d.Info(); fi.Mode()&0o111 != 0 {
				t.Errorf("executable written: %s", p)
			}
		}
		return nil
	})
}

// A cache write survives a crash: the new file is fsynced before it is
// renamed over the old one, and its directory after, so a power cut leaves
// the old entry or the new one, never an empty file.
func TestCacheWriteIsDurable(t *testing.T) {
	_, key, _ := testbin.GoogleWithKey(t, "puller")
	env := testbin.Env(t, "GCRCRED_CREDENTIALS="+key)
	file := cacheFile(t, env)
	must(t, os.Remove(file)) // doctor wrote it; the traced get writes it again
	calls := tracedGet(t, env, "fsync", "fdatasync", "rename", "renameat", "renameat2").Trace()
	// Descriptors show with their paths, as strace -y has them: fsync(5</dir/.x.json.tmp-1>).
	tmpSync := regexp.MustCompile(`f(data)?sync\(\d+<` + regexp.QuoteMeta(filepath.Dir(file)) + `/\.` + regexp.QuoteMeta(filepath.Base(file)) + `\.tmp-[0-9a-f]+>\)`)
	rename := regexp.MustCompile(`rename(at2?)?\(.*\.tmp-[0-9a-f]+.*` + regexp.QuoteMeta(filepath.Base(file)) + `"`)
	dirSync := regexp.MustCompile(`f(data)?sync\(\d+<` + regexp.QuoteMeta(filepath.Dir(file)) + `>\)`)
	at := func(re *regexp.Regexp, from int) int {
		loc := re.FindStringIndex(calls[from:])
		if loc == nil {
			t.Fatalf("no %s after offset %d in:\n%s", re, from, calls)
		}
		return from + loc[1]
	}
	at(dirSync, at(rename, at(tmpSync, 0)))
}

// tracedGet runs a Docker `get` for gcr.io under test/systrace (every
// process of its tree followed) and returns what it did, the named system
// calls recorded.
func tracedGet(t *testing.T, env []string, calls ...string) *systrace.Result {
	t.Helper()
	r, err := systrace.Run([]string{filepath.Join(testbin.Build(t), "docker-credential-gcrcred"), "get"},
		systrace.Options{Env: env, Stdin: "gcr.io", Calls: calls})
	if err != nil {
		t.Fatalf("tracing get: %v", err)
	}
	if r.Code != 0 {
		t.Fatalf("traced get: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	return r
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

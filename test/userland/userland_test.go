package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gcrcred/gcrcred/test/testbin"
)

// These tests run the built program as the node roots run it: by the name
// of each applet (a link), with a PATH and an environment of the test's
// own, and in a chroot holding nothing but it.

var binDir string // the userland and a link per applet

func TestMain(m *testing.M) {
	code, err := buildAndRun(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func buildAndRun(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "userland-test-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil { // a second user runs it too
		return 0, err
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "userland"), ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go build: %v\n%s", err, out)
	}
	for name := range applets {
		if err := os.Symlink("userland", filepath.Join(dir, name)); err != nil {
			return 0, err
		}
	}
	binDir = dir
	return m.Run(), nil
}

type result struct {
	out, err string
	code     int
}

// exe runs argv[0] from binDir (or a path) with PATH=binDir plus extra
// environment, in dir, with stdin.
func exe(t *testing.T, dir, stdin string, env []string, argv ...string) result {
	t.Helper()
	prog := argv[0]
	if !strings.Contains(prog, "/") {
		prog = filepath.Join(binDir, prog)
	}
	cmd := exec.Command(prog, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + binDir}, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := result{out: o.String(), err: e.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", argv, err)
	}
	return r
}

func sh(t *testing.T, script string, args ...string) result {
	t.Helper()
	return exe(t, t.TempDir(), "", nil, append([]string{"sh", "-c", script}, args...)...)
}

func TestShell(t *testing.T) {
	for _, tc := range []struct {
		script string
		args   []string
		out    string
		code   int
	}{
		{`echo "$0" "$#" "$@"`, []string{"name", "a b", "c"}, "name 2 a b c\n", 0},
		{`echo "$0"`, nil, "sh\n", 0},
		{`exit 3`, nil, "", 3},
		{`f() { echo "f:$1"; return 4; }; f x || echo "rc=$?"`, nil, "f:x\nrc=4\n", 0},
		{`if [ -z "${UNSET:-}" ] && test -n "x"; then echo empty; fi`, nil, "empty\n", 0},
		{`X=1; export X; Y=2; sh -c 'echo "${X:-unset} ${Y:-unset}"'`, nil, "1 unset\n", 0},
		{`echo "$(id -u)" >/dev/null; echo out; echo err >&2`, nil, "out\n", 0},
		{`exec sh -c 'exit 7'; echo not reached`, nil, "", 7},
		{`set -e; false; echo not reached`, nil, "", 1},
		{`case "$1" in a*) echo A;; *) echo other;; esac`, []string{"sh", "abc"}, "A\n", 0},
		{`for w in 1 2; do printf '%s.' "$w"; done; echo`, nil, "1.2.\n", 0},
		{`nosuch arg`, nil, "", 127},
		{`[[ -n x ]]`, nil, "", 127},     // Bash's: dash has no [[
		{`a=(1 2); echo ok`, nil, "", 2}, // arrays: not POSIX
	} {
		r := sh(t, tc.script, tc.args...)
		if r.out != tc.out || r.code != tc.code {
			t.Errorf("sh -c %q: exit %d, %q (stderr %q); want exit %d, %q", tc.script, r.code, r.out, r.err, tc.code, tc.out)
		}
	}
	if r := sh(t, "nosuch"); r.err != "sh: nosuch: not found\n" {
		t.Errorf("a missing command: %q, want dash's wording", r.err)
	}
}

// A script run by the kernel (#!) gets its path as $0 and its arguments;
// a script read from stdin runs too.
func TestShellScripts(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "script")
	must(t, os.WriteFile(script, []byte("#!"+filepath.Join(binDir, "sh")+"\necho \"$0:$1\"\nexit 5\n"), 0o755))
	if r := exe(t, dir, "", nil, script, "arg"); r.out != script+":arg\n" || r.code != 5 {
		t.Errorf("#! script: exit %d %q %q", r.code, r.out, r.err)
	}
	if r := exe(t, dir, "echo from stdin\n", nil, "sh"); r.out != "from stdin\n" || r.code != 0 {
		t.Errorf("script on stdin: exit %d %q %q", r.code, r.out, r.err)
	}
}

// The shell runs every command it has not built in as a program found on
// PATH: a node's uname shim earlier on PATH answers, not a uname of the
// userland's own (busybox's standalone shell would run its applet).
func TestShellRunsWhatPathFinds(t *testing.T) {
	shim := t.TempDir()
	must(t, os.WriteFile(filepath.Join(shim, "uname"), []byte("#!"+filepath.Join(binDir, "sh")+"\necho shim \"$@\"\n"), 0o755))
	r := exe(t, t.TempDir(), "", []string{"PATH=" + shim + ":" + binDir}, "sh", "-c", "uname -m")
	if r.out != "shim -m\n" {
		t.Errorf("uname on PATH: %q %q", r.out, r.err)
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	a, b := write("a", "A\n"), write("b", "B")
	if r := exe(t, dir, "IN", nil, "cat", a, "-", b); r.out != "A\nINB" || r.code != 0 {
		t.Errorf("cat: %q %q", r.out, r.err)
	}
	if r := exe(t, dir, "", nil, "cat", "missing"); r.code != 1 || !strings.Contains(r.err, "cat: can't open 'missing'") {
		t.Errorf("cat of a missing file: %d %q", r.code, r.err)
	}
	if r := exe(t, dir, "", nil, "chmod", "0700", "a"); r.code != 0 || mode(t, a) != 0o700 {
		t.Errorf("chmod 0700: %d %q %v", r.code, r.err, mode(t, a))
	}
	if r := exe(t, dir, "", nil, "test", "-x", a); r.code != 0 {
		t.Errorf("test -x of a 0700 file: %d %q", r.code, r.err)
	}
	if r := exe(t, dir, "", nil, "test", "-x", b); r.code != 1 {
		t.Errorf("test -x of a 0644 file: %d %q", r.code, r.err)
	}
	if r := exe(t, dir, "", nil, "ln", "-s", "a", "link"); r.code != 0 {
		t.Errorf("ln -s: %q", r.err)
	} else if target, _ := os.Readlink(filepath.Join(dir, "link")); target != "a" {
		t.Errorf("ln -s made a link to %q", target)
	}
	if r := exe(t, dir, "", nil, "mv", "link", "moved"); r.code != 0 {
		t.Errorf("mv: %q", r.err)
	} else if target, _ := os.Readlink(filepath.Join(dir, "moved")); target != "a" {
		t.Errorf("mv did not move the link itself: %q", target)
	}

	// rm -rf takes a directory with a link in it, never what the link names.
	outside := t.TempDir()
	kept := filepath.Join(outside, "kept")
	must(t, os.WriteFile(kept, nil, 0o600))
	must(t, os.MkdirAll(filepath.Join(dir, "tree/sub"), 0o755))
	must(t, os.Symlink(outside, filepath.Join(dir, "tree/sub/out")))
	if r := exe(t, dir, "", nil, "rm", "tree"); r.code != 1 || !strings.Contains(r.err, "is a directory") {
		t.Errorf("rm of a directory without -r: %d %q", r.code, r.err)
	}
	if r := exe(t, dir, "", nil, "rm", "-rf", "tree", "missing"); r.code != 0 {
		t.Errorf("rm -rf: %d %q", r.code, r.err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "tree")); err == nil {
		t.Error("rm -rf left the tree")
	}
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("rm -rf followed a link: %v", err)
	}
	if r := exe(t, dir, "", nil, "rm", "missing"); r.code != 1 {
		t.Errorf("rm of a missing file without -f: %d", r.code)
	}

	// mktemp: a fresh 0700 directory or 0600 file; the template as given,
	// or under $TMPDIR.
	r := exe(t, dir, "", nil, "mktemp", "-d", filepath.Join(dir, "stage.XXXXXX"))
	made := strings.TrimSpace(r.out)
	if r.code != 0 || !regexp.MustCompile(`^`+regexp.QuoteMeta(dir)+`/stage\.[A-Za-z0-9]{6}$`).MatchString(made) || mode(t, made) != 0o700|os.ModeDir {
		t.Errorf("mktemp -d: %d %q %q", r.code, r.out, r.err)
	}
	r = exe(t, dir, "", []string{"TMPDIR=" + dir}, "mktemp")
	if made := strings.TrimSpace(r.out); r.code != 0 || filepath.Dir(made) != dir || mode(t, made) != 0o600 {
		t.Errorf("mktemp: %d %q %q", r.code, r.out, r.err)
	}
	if r := exe(t, dir, "", nil, "mktemp", "-d", filepath.Join(dir, "x.XX")); r.code != 1 {
		t.Errorf("mktemp with a short template: %d %q", r.code, r.out)
	}
}

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode() & (os.ModePerm | os.ModeDir)
}

func TestEnvAndUname(t *testing.T) {
	r := exe(t, t.TempDir(), "", []string{"KEEP=1", "DROP=1"}, "env", "-u", "DROP", "NEW=2", "sh", "-c", `echo "${KEEP:-}${DROP:-}${NEW:-}"`)
	if r.out != "12\n" {
		t.Errorf("env -u DROP NEW=2: %q %q", r.out, r.err)
	}
	if r := exe(t, t.TempDir(), "", []string{"KEEP=1"}, "env", "-i", "ONLY=1"); r.out != "ONLY=1\n" {
		t.Errorf("env -i: %q %q", r.out, r.err)
	}
	if r := exe(t, t.TempDir(), "", nil, "env", "nosuch"); r.code != 127 {
		t.Errorf("env of a missing program: %d %q", r.code, r.err)
	}
	var u unix.Utsname
	must(t, unix.Uname(&u))
	want := unix.ByteSliceToString(u.Machine[:]) + "\n" // the kernel's
	if r := exe(t, t.TempDir(), "", nil, "uname", "-m"); r.out != want {
		t.Errorf("uname -m: %q, want %q", r.out, want)
	}
	if r := exe(t, t.TempDir(), "", nil, "uname"); r.out != "Linux\n" {
		t.Errorf("uname: %q", r.out)
	}
}

// In a chroot holding only the userland (no C library: it is static) and
// a node's passwd and group files, id names the node's users; run as the
// node's docker user it is that user.
func TestChrootAndID(t *testing.T) {
	testbin.NeedRoot(t)
	root := t.TempDir()
	must(t, os.Chmod(root, 0o755))
	must(t, os.MkdirAll(filepath.Join(root, "bin"), 0o755))
	must(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\ndocker:x:1000:999::/home/docker:/bin/sh\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\ndocker:x:999:docker\n"), 0o644))
	b, err := os.ReadFile(filepath.Join(binDir, "userland"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(root, "bin/userland"), b, 0o755))
	for name := range applets {
		must(t, os.Link(filepath.Join(root, "bin/userland"), filepath.Join(root, "bin", name)))
	}
	for _, tc := range []struct {
		uid, gid uint32
		script   string
		out      string
	}{
		{0, 0, "id -un; id -u; id -gn", "root\n0\nroot\n"},
		{1000, 999, "id -un; id -u; id -G -n; id", "docker\n1000\ndocker\nuid=1000(docker) gid=999(docker) groups=999(docker)\n"},
	} {
		cmd := exec.Command("/bin/sh", "-c", tc.script)
		cmd.Env = []string{"PATH=/bin"}
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: tc.uid, Gid: tc.gid}}
		out, err := cmd.CombinedOutput()
		if err != nil || string(out) != tc.out {
			t.Errorf("as uid %d in a chroot: %q: %v %q, want %q", tc.uid, tc.script, err, out, tc.out)
		}
	}
}

func TestSed(t *testing.T) {
	dropIn := "[Service]\nExecStart=/usr/bin/kubelet --max-pods=50 --image-credential-provider-config=/etc/p.yaml --image-credential-provider-bin-dir=/opt/bin --v=2\n"
	for _, tc := range []struct {
		script, in, out string
	}{
		// What the tests run on nodes.
		{`s/ --image-credential-provider[^ ]*//g`, dropIn, "[Service]\nExecStart=/usr/bin/kubelet --max-pods=50 --v=2\n"},
		{`s|--max-pods=50|--max-pods=50 --x=y|`, "a --max-pods=50\n", "a --max-pods=50 --x=y\n"},
		// Basic regular expressions: \( \) groups, \{ \}, literal ( + ? |.
		{`s/\(a\)\(b*\)/<\2\1>/`, "abbc\n", "<bba>c\n"},
		{`s/x\{2\}/X/g`, "xxxxx\n", "XXx\n"},
		{`s/(+?|)/lit/`, "a(+?|)b\n", "alitb\n"},
		{`s/^*a/b/`, "*a\n", "b\n"},
		{`s/a.c$/&&/`, "abc\n", "abcabc\n"},
		{`s/[]/]/_/g`, "a]b/c\n", "a_b_c\n"},
		{`s/[[:digit:]]\+/N/g`, "a1b22\n", "aNbN\n"},
		{`s/\//|/g; s/b/B/2`, "a/b/bb", "a|b|Bb"}, // no final newline: none added
		{"s/a/1/\ns/b/2/", "ab\n", "12\n"},
	} {
		r := exe(t, t.TempDir(), tc.in, nil, "sed", tc.script)
		if r.out != tc.out || r.code != 0 {
			t.Errorf("sed %q: exit %d %q %q, want %q", tc.script, r.code, r.out, r.err, tc.out)
		}
	}
	// -i rewrites the file in place, keeping its mode and owner.
	dir := t.TempDir()
	file := filepath.Join(dir, "10-kubeadm.conf")
	must(t, os.WriteFile(file, []byte(dropIn), 0o640))
	if os.Geteuid() == 0 {
		must(t, os.Chown(file, 1000, 999))
	}
	before, err := os.Stat(file)
	must(t, err)
	if r := exe(t, dir, "", nil, "sed", "-i", `s/ --image-credential-provider[^ ]*//g`, file); r.code != 0 || r.out != "" {
		t.Fatalf("sed -i: %d %q %q", r.code, r.out, r.err)
	}
	after, err := os.Stat(file)
	must(t, err)
	if b, _ := os.ReadFile(file); string(b) != "[Service]\nExecStart=/usr/bin/kubelet --max-pods=50 --v=2\n" {
		t.Errorf("sed -i wrote %q", b)
	}
	bs, as := before.Sys().(*syscall.Stat_t), after.Sys().(*syscall.Stat_t)
	if after.Mode() != before.Mode() || as.Uid != bs.Uid || as.Gid != bs.Gid {
		t.Errorf("sed -i: mode %v owner %d:%d, was %v %d:%d", after.Mode(), as.Uid, as.Gid, before.Mode(), bs.Uid, bs.Gid)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("sed -i left files behind: %v", entries)
	}
}

// An option or a form a minimal node's busybox lacks, or that node
// commands never use, fails loudly rather than doing something else.
func TestWhatIsNotThereFails(t *testing.T) {
	for _, argv := range [][]string{
		{"rm", "--no-preserve-root", "x"},
		{"rm", "-v", "x"},
		{"chmod", "u+x", "x"},
		{"mktemp", "--suffix=.x"},
		{"sed", "-E", "s/a/b/"},
		{"sed", "y/ab/cd/"},
		{"sed", `s/\(a\)\1/b/`},
		{"cat", "-n"},
		{"uname", "--all"},
		{"id", "-Z"},
		{"env", "--chdir=/"},
		{"userland", "nosuch"},
	} {
		if r := exe(t, t.TempDir(), "", nil, argv...); r.code == 0 || r.err == "" {
			t.Errorf("%q: exit %d, stderr %q: want a failure that says why", argv, r.code, r.err)
		}
	}
}

// --list names every applet once, at the path node roots install it.
func TestList(t *testing.T) {
	r := exe(t, t.TempDir(), "", nil, "userland", "--list")
	paths := strings.Fields(r.out)
	if len(paths) != len(applets) {
		t.Fatalf("--list: %q, want %d applets", r.out, len(applets))
	}
	for name, a := range applets {
		if !strings.Contains(r.out, a.path+"\n") || filepath.Base(a.path) != name {
			t.Errorf("applet %s at %s: %q", name, a.path, r.out)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Package imports_test holds the import boundaries of the product's
// packages, as `go list` sees them for every platform the binary is built
// for:
//   - nothing under an internal/ directory depends on a front end (cmd,
//     helper, provider) or on an installer's command (node, minikube, kind);
//   - an installer (node, minikube, kind and their packages) depends on no
//     front end and on no other installer: they meet in internal/;
//   - nothing linked into the binary imports k8s.io (its package
//     initialisation costs every process start, and every image pull
//     starts one: internal/kubeletapi mirrors the kubelet's types);
//   - no product package depends on test support (test/).
package imports_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/test/testbin"
)

const module = "github.com/gcrcred/gcrcred"

// packages are the module's packages with their dependencies (transitive,
// the standard library's and other modules' included), for one platform.
func packages(t *testing.T, goos string) map[string][]string {
	t.Helper()
	// go test puts the go command's own GOROOT/bin first on the test's PATH.
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go tool to list packages with: %v", err)
	}
	cmd := exec.Command(goTool, "list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", "./...")
	cmd.Dir = testbin.Root()
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list for %s: %v\n%s", goos, err, stderr.String())
	}
	pkgs := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 {
			pkgs[f[0]] = f[1:]
		}
	}
	return pkgs
}

// rel is a package's path in the module ("" for another module's).
func rel(p string) (string, bool) {
	if p == module {
		return "", true
	}
	r, ok := strings.CutPrefix(p, module+"/")
	return r, ok
}

// under reports whether the module-relative path p is dir or below it.
func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

var (
	frontEnds  = []string{"cmd", "helper", "provider"}
	installers = []string{"node", "minikube", "kind"}
)

// tree is the front end or installer p belongs to ("" for none).
func tree(p string) string {
	for _, d := range append(append([]string{}, frontEnds...), installers...) {
		if under(p, d) {
			return d
		}
	}
	return ""
}

func isInstaller(d string) bool {
	for _, i := range installers {
		if d == i {
			return true
		}
	}
	return false
}

// forbidden says why package p may not depend on dep ("" if it may).
func forbidden(p, dep string) string {
	if under(dep, "test") && !under(p, "test") {
		return "product code depends on test support"
	}
	pt, dt := tree(p), tree(dep)
	switch {
	case dt == "" || under(p, "test") || under(p, "build"):
		return ""
	case strings.Contains("/"+p+"/", "/internal/") && (dt != pt || dep == dt):
		return "an internal package depends on a front end or an installer's command"
	case isInstaller(pt) && dt != pt:
		return "an installer depends on another front end or installer"
	case isInstaller(pt) && !isInstaller(dt):
		return "an installer depends on a front end"
	}
	return ""
}

func TestImportBoundaries(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		pkgs := packages(t, goos)
		if len(pkgs) < 20 {
			t.Fatalf("%s: go list listed %d packages", goos, len(pkgs))
		}
		for p, deps := range pkgs {
			rp, _ := rel(p)
			for _, d := range deps {
				rd, ours := rel(d)
				if !ours {
					continue
				}
				if why := forbidden(rp, rd); why != "" {
					t.Errorf("%s: %s imports %s: %s", goos, p, d, why)
				}
			}
		}
		bin, ok := pkgs[module+"/cmd/gcrcred"]
		if !ok {
			t.Fatalf("%s: no cmd/gcrcred", goos)
		}
		for _, d := range bin {
			if strings.HasPrefix(d, "k8s.io/") {
				t.Errorf("%s: the binary links %s: nothing in it may import k8s.io (mirror what is needed in internal/kubeletapi)", goos, d)
			}
		}
	}
}

// TestBoundaryRules: the rules themselves, on imports that must and must
// not pass, so that a rule that has stopped biting is noticed.
func TestBoundaryRules(t *testing.T) {
	for _, tc := range []struct {
		p, dep string
		ok     bool
	}{
		{"node", "provider", false},
		{"node/internal/engine", "node", false},
		{"node/internal/engine", "minikube/minikubecli", false},
		{"internal/hostinstall", "node", false},
		{"internal/noderoot", "helper", false},
		{"minikube", "node", false},
		{"kind/kindcli", "minikube/minikubecli", false},
		{"internal/auth", "test/fakegoogle", false},
		{"node", "node/internal/engine", true},
		{"node/internal/engine", "node/internal/flavour", true},
		{"minikube", "minikube/minikubecli", true},
		{"minikube/minikubecli", "internal/hostinstall", true},
		{"provider", "internal/providerconfig", true},
		{"cmd/gcrcred", "node", true},
		{"test/security", "node", true},
	} {
		if got := forbidden(tc.p, tc.dep) == ""; got != tc.ok {
			t.Errorf("%s -> %s: allowed %v, want %v", tc.p, tc.dep, got, tc.ok)
		}
	}
}

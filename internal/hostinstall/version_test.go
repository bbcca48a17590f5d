package hostinstall

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/test/testbin"
)

// TestPlanShowsTheVersionTheBinarySays: the line the minikube and kind
// plans print for a node binary carries exactly what that binary's
// `gcrcred version` prints. (They differed when `make` stamped the version
// with -ldflags -X: -trimpath keeps -ldflags out of the build information
// the plan reads, so the plan said "devel".)
func TestPlanShowsTheVersionTheBinarySays(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("node binaries are linux ones")
	}
	bin := filepath.Join(testbin.Build(t), "gcrcred")
	said := testbin.Run(t, testbin.Env(t), nil, "gcrcred", "version")
	if said.Code != 0 {
		t.Fatalf("gcrcred version: exit %d %s", said.Code, said.Stderr)
	}
	dist := t.TempDir()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dist, DistName(runtime.GOARCH)), data, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := FindBinary(dist, runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(said.Stdout)
	if b.Version != want || !strings.Contains(b.String(), "("+want+",") {
		t.Fatalf("the plan says %q\nthe binary says %q", b.String(), want)
	}
}

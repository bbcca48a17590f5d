package flavour

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/test/testbin"
)

// Each flavour's test builds a node root of its own set-up from files
// (no processes: detection reads only files) and checks the Setup that
// detection makes of it: where the binary, the config and the flags go.

// nodeRoot is a node root holding files (path -> content), each root's
// as the packages leave them.
func nodeRoot(t *testing.T, files map[string]string) *noderoot.Root {
	t.Helper()
	testbin.NeedRoot(t) // detection believes only root's files
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := noderoot.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// detect is the set-up the files say (as Detect, without the running
// kubelet).
func detect(t *testing.T, files map[string]string) (*Setup, error) {
	t.Helper()
	return detectFiles(&Node{R: nodeRoot(t, files)})
}

// want checks a detected set-up's flavour and where things go.
func want(t *testing.T, s *Setup, err error, flavour, binDir, config, flags string) {
	t.Helper()
	if err != nil {
		t.Fatalf("detect: %v", err)
	}
	got := ""
	if s.Flags != nil {
		got = s.Flags.Path + " " + s.Flags.Var
	}
	if s.Flavour != flavour || s.BinDir != binDir || s.Config != config || strings.TrimSpace(got) != flags {
		t.Errorf("set-up %s: bin dir %s, config %s, flags %q; want %s: %s, %s, %q (%s)", s.Flavour, s.BinDir, s.Config, got, flavour, binDir, config, flags, s.Evidence)
	}
}

const kubeletService = "[Service]\nExecStart=/usr/bin/kubelet\n"

// TestNoSetUpFitsChangesNothing: a kubelet none of the flavours knows is
// refused with what each of them looks for; no kubelet at all too.
func TestNoSetUpFitsChangesNothing(t *testing.T) {
	_, err := detect(t, map[string]string{"lib/systemd/system/kubelet.service": kubeletService})
	if err == nil {
		t.Fatal("an unknown set-up was detected")
	}
	for _, f := range All() {
		if !strings.Contains(err.Error(), f.Wants()) {
			t.Errorf("the refusal does not say what %T looks for (%s):\n%v", f, f.Wants(), err)
		}
	}
	if _, err := detect(t, map[string]string{"etc/hostname": "node\n"}); err == nil || !strings.Contains(err.Error(), "no kubelet.service in") {
		t.Errorf("no kubelet: %v", err)
	}
}

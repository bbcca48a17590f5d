package minikube_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/test/fakeminikube/fakecluster"
	"github.com/gcrcred/gcrcred/test/testbin"
)

// TestPodIdentity: install with --workload-identity and no credentials puts
// the configuration, and no key, on the nodes and in file sync; the
// kubelet's own plugin code gets a pod's own identity. With no kubectl on
// PATH install prints the RBAC (for the profile's context) as the next
// step (TestKindInstall applies it with kubectl). Status is all well;
// uninstall gives everything back and looks for the RBAC to delete.
func TestPodIdentity(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "pods", "kicbase/x86_64")
	p := fakecluster.NewPodIdentity(t, w.g)
	before := w.state()
	install := append([]string{"install", "-p", w.c.Profile, "--dist", w.dist, "--kubelet-settle=0s"}, p.Flags("--require-service-account")...)

	noKubectl := []string{"PATH=" + w.c.Bin + ":" + testbin.Build(t)}
	out, code := w.gcrcred(noKubectl, install...)
	for _, want := range []string{"credentials: none (per-pod identity only", "Next step (no kubectl on PATH)", "kubectl --context pods apply -f - <<'EOF'", `resources: ["` + p.Audience + `"]`, "verbs: [request-serviceaccounts-token-audience]"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("install without kubectl (exit %d) does not say %q:\n%s", code, want, out)
		}
	}
	name := w.c.NodeNames()[0]
	for _, dir := range []string{w.c.Root(name), w.c.FileSyncDir()} {
		if _, err := os.Stat(filepath.Join(dir, nodelayout.WorkloadIdentity)); err != nil {
			t.Errorf("%s has no %s: %v", dir, nodelayout.WorkloadIdentity, err)
		}
		if _, err := os.Lstat(filepath.Join(dir, nodelayout.Credentials)); err == nil {
			t.Errorf("%s has credentials that were not given", dir)
		}
	}
	unit, _ := w.c.KubeletFlags(name)
	n := w.c.Node(name)
	r, stderr, err := n.Lookup(unit[nodelayout.FlagProviderConfig], unit[nodelayout.FlagProviderBinDir], "gcr.io/proj/img", p.LookupArgs(n, "team-b/puller")...)
	if err != nil || len(r.Results) != 1 || w.g.TokenSubject(r.Results[0].Password) != p.Principal("team-b", "puller") {
		t.Errorf("the kubelet's plugin lookup for team-b/puller: %+v, err %v\n%s", r, err, stderr)
	}
	if out, code := w.gcrcred(nil, "status", "-p", w.c.Profile); code != 0 || !strings.Contains(out, "ok      per-pod identity") {
		t.Errorf("status: exit %d\n%s", code, out)
	}
	installed, stamps := w.state(), w.stamps()
	if out, code := w.gcrcred(noKubectl, install...); code != 0 || strings.Contains(out, " done") {
		t.Errorf("a rerun (exit %d) did something:\n%s", code, out)
	}
	w.sameState("a rerun", installed, w.state())
	w.sameStamps("a rerun", stamps)

	out = w.uninstall()
	w.sameState("install then uninstall", before, w.state())
	if !strings.Contains(out, "kubectl --context pods delete clusterrolebinding,clusterrole -l app.kubernetes.io/managed-by=gcrcred-installer) ... unchanged") {
		t.Errorf("uninstall does not look for the RBAC in the profile's context:\n%s", out)
	}
}

package node_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/test/fakeminikube/fakecluster"
	"github.com/gcrcred/gcrcred/test/testbin"
)

// podPulls checks that the kubelet's own plugin code, with the flags the
// running kubelet has, validates the provider config's tokenAttributes,
// asks for a token of the pod's service account, and gets from gcrcred a
// token of that account's pool principal.
func (w *world) podPulls(p *fakecluster.PodIdentity) {
	w.t.Helper()
	args := w.n.KubeletArgs()
	config, binDir := args["image-credential-provider-config"], args["image-credential-provider-bin-dir"]
	r, stderr, err := w.n.Lookup(config, binDir, "gcr.io/proj/img", p.LookupArgs(w.n, "team-a/puller")...)
	want := p.Principal("team-a", "puller")
	if err != nil || len(r.Results) != 1 || !r.Results[0].Found || r.TokenRequests != 1 || w.g.TokenSubject(r.Results[0].Password) != want {
		w.t.Fatalf("the kubelet's plugin lookup for team-a/puller: %+v (token for %q, want %q), err %v\n%s", r, w.g.TokenSubject(r.Password), want, err, stderr)
	}
}

// TestPodIdentityWithoutKey: with --workload-identity and no credentials
// anywhere, install puts the configuration at its path and tokenAttributes
// in the provider config (which the kubelet's code accepts), and a pod's
// service-account token gets that pod's own identity; status says all is
// well with no key; a rerun changes nothing; one that changes the settings
// restarts the kubelet; one without the per-pod flags turns it off again;
// uninstall gives the node back byte for byte.
func TestPodIdentityWithoutKey(t *testing.T) {
	t.Parallel()
	for _, flavour := range []string{"kubeadm", "kicbase"} {
		t.Run(flavour, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, flavour)
			p := fakecluster.NewPodIdentity(t, w.g)
			if flavour == "kubeadm" {
				// Its kubelet from pkgs.k8s.io: 1.35 keeps images apart.
				w.put("var/lib/dpkg/status", dpkgStatus("1.35.0-1.1"))
			}
			before := w.n.Tree()
			install := append(p.Flags(), "--kubelet-settle", "0s")

			out := w.must("install", append(install, "--dry-run")...)
			for _, want := range []string{nodelayout.WorkloadIdentity, "per-pod identity", p.Audience, "dry run: nothing was changed"} {
				if !strings.Contains(out, want) {
					t.Errorf("the dry run does not say %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, nodelayout.Credentials) {
				t.Errorf("the dry run plans credentials that were not given:\n%s", out)
			}
			w.sameTree("install --dry-run", before)

			w.must("install", install...)
			w.podPulls(p)
			if _, err := os.Lstat(filepath.Join(w.n.Root, nodelayout.Credentials)); err == nil {
				t.Errorf("install put credentials on the node")
			}
			fi := mustStat(t, filepath.Join(w.n.Root, nodelayout.WorkloadIdentity))
			if st := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o644 || st.Uid != 0 {
				t.Errorf("%s is %v owned by %d", nodelayout.WorkloadIdentity, fi.Mode(), st.Uid)
			}
			out, code := w.gcrcred("status")
			for _, want := range []string{"all well", "ok      per-pod identity: tokens for audience " + `"` + p.Audience, "ok      credentials: none on the node", "as installed"} {
				if code != 0 || !strings.Contains(out, want) {
					t.Errorf("status (exit %d) does not say %q:\n%s", code, want, out)
				}
			}

			installed, restarts := w.n.Tree(), w.n.Restarts("kubelet")
			stamps, record := w.n.Stamps(), w.record()
			if out := w.must("install", install...); lastLine(out) != "unchanged" {
				t.Errorf("a rerun changed something:\n%s", out)
			}
			w.sameTree("a rerun", installed)
			w.notRewritten("a rerun", stamps, record)
			w.must("install", append(install, "--require-service-account")...)
			if w.n.Restarts("kubelet") != restarts+1 {
				t.Errorf("a rerun that changed the per-pod settings did not restart the kubelet once")
			}

			if flavour == "kubeadm" {
				// A new configuration alone restarts the kubelet too: it keeps
				// answers in memory per service account.
				other, err := w.g.WriteWorkloadIdentityConfig(t.TempDir(), "other", p.Audience, w.g.AddServiceAccount("default-puller"))
				if err != nil {
					t.Fatal(err)
				}
				w.must("install", "--workload-identity", other, "--service-account-audience", p.Audience, "--require-service-account", "--kubelet-settle", "0s")
				if w.n.Restarts("kubelet") != restarts+2 {
					t.Errorf("a rerun with a new workload identity configuration did not restart the kubelet once")
				}
				// Without the per-pod flags (a key now), a rerun takes the
				// configuration and tokenAttributes away again.
				out := w.install()
				if !strings.Contains(out, "removed   "+nodelayout.WorkloadIdentity) {
					t.Errorf("install without the per-pod flags does not remove the configuration:\n%s", out)
				}
				if _, err := os.Lstat(filepath.Join(w.n.Root, nodelayout.WorkloadIdentity)); err == nil {
					t.Errorf("%s is still there", nodelayout.WorkloadIdentity)
				}
				w.pulls()
			}

			w.must("uninstall", "--kubelet-settle", "0s")
			w.sameTree("install then uninstall", before)
		})
	}
}

// TestPodIdentityRefusals: per-pod identity on a kubelet too old for it
// (kind's /kind/version), or one whose shared provider config is an older
// version, and a file that is not a credential configuration, are refused
// with the reason, changing nothing; the flags go together.
func TestPodIdentityRefusals(t *testing.T) {
	t.Parallel()
	old := newWorld(t, "kind")
	p := fakecluster.NewPodIdentity(t, old.g)
	if err := os.WriteFile(filepath.Join(old.n.Root, "kind/version"), []byte("v1.32.4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	shared := newWorld(t, "provider-config-yaml")
	config := filepath.Join(shared.n.Root, "etc/srv/kubernetes/cri_auth_config.yaml")
	b, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.ReplaceAll(strings.ReplaceAll(string(b), "kubelet.config.k8s.io/v1", "kubelet.config.k8s.io/v1beta1"), "credentialprovider.kubelet.k8s.io/v1", "credentialprovider.kubelet.k8s.io/v1beta1"))
	if err := os.WriteFile(config, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		w    *world
		args []string
		code int
		want []string
	}{
		{"kubelet 1.32", old, p.Flags(), 1, []string{"nothing changed", "kubelet 1.34 or newer", "v1.32.4", "/kind/version", "without --workload-identity"}},
		{"v1beta1 provider config", shared, p.Flags(), 1, []string{"nothing changed", "cri_auth_config.yaml", "older provider config version", "without --workload-identity"}},
		{"not a credential configuration", old, []string{"--workload-identity", old.key, "--service-account-audience", p.Audience}, 1, []string{"--workload-identity"}},
		{"audience alone", old, []string{"--service-account-audience", p.Audience}, 2, []string{"--workload-identity and --service-account-audience go together"}},
	} {
		before := tc.w.n.Tree()
		out, code := tc.w.gcrcred("install", append(tc.args, "--kubelet-settle", "0s")...)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s", tc.name, code, tc.code, out)
		}
		for _, want := range tc.want {
			if !strings.Contains(out, want) {
				t.Errorf("%s: the refusal does not say %q:\n%s", tc.name, want, out)
			}
		}
		tc.w.sameTree(tc.name, before)
	}
}

// TestWaitExitsOnSIGTERM: `gcrcred node wait`, the DaemonSet's main
// container, exits 0 when the runtime stops it.
func TestWaitExitsOnSIGTERM(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(filepath.Join(testbin.Build(t), "gcrcred"), "node", "wait")
	cmd.Env = testbin.Env(t)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// It says it waits only once its signal handler is in place.
	line, err := bufio.NewReader(stderr).ReadString('\n')
	if err != nil || !strings.Contains(line, "waiting for SIGTERM") {
		cmd.Process.Kill()
		t.Fatalf("node wait said %q (%v)", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("node wait after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("node wait did not exit within 10s of SIGTERM")
	}
}

// put writes a node file, root's, 0644.
func (w *world) put(name, content string) {
	w.t.Helper()
	p := filepath.Join(w.n.Root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// dpkgStatus is dpkg's status file with the kubelet package at version.
func dpkgStatus(version string) string {
	return "Package: kubeadm\nStatus: install ok installed\nVersion: 1.31.0-1.1\n\n" +
		"Package: kubelet\nStatus: install ok installed\nPriority: optional\nVersion: " + version + "\nDescription: Node agent\n  for Kubernetes\n"
}

// TestPodIdentityImageCache: per-pod identity is refused, changing
// nothing, on a kubelet that lets a pod of any service account run an
// image another one pulled (older than 1.35 without
// KubeletEnsureSecretPulledImages, the gate turned off, the policy
// NeverVerify, a version gcrcred cannot read), unless
// --allow-shared-image-cache accepts it; the gate on in the kubelet's
// config or flags, or 1.35+, is enough.
func TestPodIdentityImageCache(t *testing.T) {
	t.Parallel()
	const gateOn = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfeatureGates:\n  KubeletEnsureSecretPulledImages: true\n"
	for _, tc := range []struct {
		name    string
		flavour string
		files   map[string]string
		ok      bool
		want    []string
	}{
		{"kind 1.34", "kind", map[string]string{"kind/version": "v1.34.3\n"}, false,
			[]string{"this node's kubelet is v1.34.3 (/kind/version), older than 1.35", "featureGates: {KubeletEnsureSecretPulledImages: true} in /var/lib/kubelet/config.yaml"}},
		{"kind 1.34, gate on in its config", "kind", map[string]string{"kind/version": "v1.34.3\n", "var/lib/kubelet/config.yaml": gateOn}, true,
			[]string{"(KubeletEnsureSecretPulledImages on in /var/lib/kubelet/config.yaml)"}},
		{"kind 1.34, gate on in its flags", "kind", map[string]string{"kind/version": "v1.34.3\n",
			"var/lib/kubelet/kubeadm-flags.env": "KUBELET_KUBEADM_ARGS=\"--feature-gates=KubeletEnsureSecretPulledImages=true\"\n"}, true,
			[]string{"(KubeletEnsureSecretPulledImages on in --feature-gates)"}},
		{"kind 1.37, gate off in its flags", "kind", map[string]string{"var/lib/kubelet/config.yaml": gateOn,
			"var/lib/kubelet/kubeadm-flags.env": "KUBELET_KUBEADM_ARGS=\"--feature-gates=A=true --feature-gates KubeletEnsureSecretPulledImages=false\"\n"}, false,
			[]string{"KubeletEnsureSecretPulledImages feature gate is off (--feature-gates)"}},
		{"kind 1.37, NeverVerify", "kind", map[string]string{"var/lib/kubelet/config.yaml": "imagePullCredentialsVerificationPolicy: NeverVerify\n"}, false,
			[]string{"imagePullCredentialsVerificationPolicy is NeverVerify (/var/lib/kubelet/config.yaml)"}},
		{"kubeadm, version unknown", "kubeadm", nil, false,
			[]string{"cannot tell this node's kubelet version (from the Go build information of the running kubelet's program (pid ", "), the Go build information of /usr/bin/kubelet, /var/lib/dpkg/status)"}},
		{"kubeadm 1.34 package", "kubeadm", map[string]string{"var/lib/dpkg/status": dpkgStatus("1.34.2-1.1")}, false,
			[]string{"this node's kubelet is 1.34.2-1.1 (/var/lib/dpkg/status (package kubelet)), older than 1.35"}},
		{"kubeadm 1.36 package", "kubeadm", map[string]string{"var/lib/dpkg/status": dpkgStatus("1.36.0-1.1")}, true,
			[]string{"(kubelet 1.36.0-1.1, from /var/lib/dpkg/status (package kubelet): KubeletEnsureSecretPulledImages is on by default)"}},
		{"kind 1.37", "kind", nil, true, []string{"(kubelet v1.37.2, from /kind/version: KubeletEnsureSecretPulledImages is on by default)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, tc.flavour)
			p := fakecluster.NewPodIdentity(t, w.g)
			for name, content := range tc.files {
				w.put(name, content)
			}
			before := w.n.Tree()
			install := append(p.Flags(), "--kubelet-settle", "0s")
			out, code := w.gcrcred("install", install...)
			if tc.ok {
				if code != 0 || strings.Contains(out, "shared-image-cache") {
					t.Fatalf("install: exit %d\n%s", code, out)
				}
				for _, want := range append(tc.want, "note: before it runs an image already on the node, the kubelet checks that the pod's own credentials may pull it") {
					if !strings.Contains(out, want) {
						t.Errorf("install does not say %q:\n%s", want, out)
					}
				}
				return
			}
			if code != 1 || !strings.Contains(out, "nothing changed") || !strings.Contains(out, "a pod of another service account can run an image already on the node (imagePullPolicy IfNotPresent)") ||
				!strings.Contains(out, "or accept it with --allow-shared-image-cache") {
				t.Fatalf("install on a kubelet that shares images: exit %d\n%s", code, out)
			}
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("the refusal does not say %q:\n%s", want, out)
				}
			}
			w.sameTree(tc.name, before)
			out = w.must("install", append(install, "--allow-shared-image-cache")...)
			if !strings.Contains(out, "note: --allow-shared-image-cache: ") {
				t.Errorf("install with --allow-shared-image-cache does not say what it accepted:\n%s", out)
			}
		})
	}
}

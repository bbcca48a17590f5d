package node_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gcrcred/gcrcred/internal/endpoint"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/test/fakeminikube/fakecluster"
)

// TestFlavours: on a node of each flavour, --dry-run changes nothing;
// install names the set-up, and the kubelet (its own plugin code) gets a
// token through gcrcred; other providers keep working configs; status says
// all is well; a rerun changes nothing and restarts nothing; uninstall
// gives back the node byte for byte.
func TestFlavours(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		flavour, setUp string
		others         []string // other providers that must stay in the config
		configFile     string   // the config the kubelet reads
	}{
		{"kicbase", "minikube", nil, "/etc/gcrcred/credential-provider.yaml"},
		{"buildroot", "minikube", nil, "/etc/gcrcred/credential-provider.yaml"},
		{"kubeadm", "kubeadm (/etc/systemd/system/kubelet.service.d/10-kubeadm.conf reads KUBELET_EXTRA_ARGS from /etc/default/kubelet)", nil, "/etc/gcrcred/credential-provider.yaml"},
		{"kubeadm-rpm", "kubeadm (/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf reads KUBELET_EXTRA_ARGS from /etc/sysconfig/kubelet)", nil, "/etc/gcrcred/credential-provider.yaml"},
		{"kubeadm-flags-env", "kubeadm", nil, "/etc/gcrcred/credential-provider.yaml"},
		{"kind", "kind", nil, "/etc/gcrcred/credential-provider.yaml"},
		{"k3s", "k3s (k3s.service", nil, "/var/lib/rancher/credentialprovider/config.yaml"},
		{"rke2", "rke2 (rke2-agent.service", nil, "/var/lib/rancher/credentialprovider/config.yaml"},
		{"provider-config-yaml", "provider-config", []string{"auth-provider-gcp"}, "/etc/srv/kubernetes/cri_auth_config.yaml"},
		{"provider-config-json", "provider-config", []string{"ecr-credential-provider"}, "/etc/eks/image-credential-provider/config.json"},
		{"provider-config-dir", "provider-config", []string{"ecr-credential-provider"}, "/etc/kubernetes/credential-providers/gcrcred.yaml"},
	} {
		t.Run(tc.flavour, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, tc.flavour)
			before := w.n.Tree()

			out := w.install("--dry-run")
			for _, want := range []string{"kubelet set-up: " + tc.setUp, "dry run: nothing was changed", "sha256:"} {
				if !strings.Contains(out, want) {
					t.Errorf("the dry run does not say %q:\n%s", want, out)
				}
			}
			w.sameTree("install --dry-run", before)

			out = w.install()
			if !strings.Contains(out, "kubelet set-up: "+tc.setUp) {
				t.Errorf("install does not name the set-up %q:\n%s", tc.setUp, out)
			}
			w.pulls()
			// Without --docker-users the key is root's alone, also where the
			// node has a docker group (kicbase, buildroot).
			if fi, err := os.Stat(filepath.Join(w.n.Root, "etc/gcrcred/credentials.json")); err != nil {
				t.Error(err)
			} else if st := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o600 || st.Uid != 0 || st.Gid != 0 {
				t.Errorf("credentials are %v %d:%d, want 0600 root:root", fi.Mode().Perm(), st.Uid, st.Gid)
			}
			config, err := os.ReadFile(filepath.Join(w.n.Root, tc.configFile))
			if err != nil {
				t.Fatal(err)
			}
			if tc.flavour == "provider-config-dir" { // the others are in their own files
				other, _ := os.ReadFile(filepath.Join(w.n.Root, "etc/kubernetes/credential-providers/10-ecr.yaml"))
				config = append(config, other...)
			}
			for _, p := range append([]string{"gcrcred"}, tc.others...) {
				if !strings.Contains(string(config), "name: "+p) && !strings.Contains(string(config), `"name": "`+p+`"`) {
					t.Errorf("%s lacks provider %s:\n%s", tc.configFile, p, config)
				}
			}
			if out, code := w.gcrcred("status"); code != 0 || !strings.Contains(out, "all well") {
				t.Errorf("status after install: exit %d\n%s", code, out)
			}

			installed, restarts := w.n.Tree(), w.n.Restarts(serviceOf(tc.flavour))
			stamps, record := w.n.Stamps(), w.record()
			if out := w.must("install", "--kubelet-settle", "0s"); lastLine(out) != "unchanged" {
				t.Errorf("a rerun changed something:\n%s", out)
			}
			w.sameTree("a rerun", installed)
			w.notRewritten("a rerun", stamps, record)
			if r := w.n.Restarts(serviceOf(tc.flavour)); r != restarts {
				t.Errorf("a rerun that changed nothing restarted the kubelet")
			}

			w.must("uninstall", "--dry-run")
			w.sameTree("uninstall --dry-run", installed)
			w.must("uninstall", "--kubelet-settle", "0s")
			w.sameTree("install then uninstall", before)
			if out, code := w.gcrcred("status"); code != 1 {
				t.Errorf("status after uninstall: exit %d\n%s", code, out)
			}
		})
	}
}

// TestSystemCredentialsMustBeRoots: the node-wide credentials file is what
// the kubelet and root use with no environment; one that root did not put
// there (a link, another owner's file, writable by others, a FIFO) is
// refused with a message, at once, and its key never used.
func TestSystemCredentialsMustBeRoots(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "kubeadm")
	w.install()
	key, err := os.ReadFile(filepath.Join(w.n.Root, "etc/gcrcred/credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	creds := filepath.Join(w.n.Root, "etc/gcrcred/credentials.json")
	token := func() (string, string, error) {
		return w.n.Exec(fakecluster.RootUser, []string{"HOME=/root", "GCRCRED_TIMEOUT=5s", endpoint.EnvTestLoopback + "=1"}, "", "/usr/local/lib/gcrcred/bin/gcrcred", "token")
	}
	if out, stderr, err := token(); err != nil || !w.g.Valid(strings.TrimSpace(out)) {
		t.Fatalf("root's own file: %v %s", err, stderr)
	}
	for _, tc := range []struct {
		name, want string
		plant      func()
	}{
		{"a link to a user's file", "is a symbolic link", func() {
			w.write("home/docker/key.json", string(key), 0o600, 1000, 999)
			must(t, os.Symlink("/home/docker/key.json", creds))
		}},
		{"a user's file", "belongs to uid 1000, not root", func() {
			w.write("etc/gcrcred/credentials.json", string(key), 0o600, 1000, 999)
		}},
		{"writable by others", "writable by group or others", func() {
			w.write("etc/gcrcred/credentials.json", string(key), 0o666, 0, 0)
			must(t, os.Chmod(creds, 0o666))
		}},
		{"a FIFO", "not a regular file", func() { must(t, syscall.Mkfifo(creds, 0o600)) }},
	} {
		must(t, os.Remove(creds))
		tc.plant()
		out, stderr, err := token()
		if err == nil || out != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: err %v, stdout %q, stderr %s", tc.name, err, out, stderr)
		}
	}
}

// TestDockerUsersAreUserNames: --docker-users ends up in a systemd
// ExecStartPre= line, so anything but a user name is refused up front.
func TestDockerUsersAreUserNames(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "kicbase")
	before := w.n.Tree()
	for _, bad := range []string{"docker;id", "$HOME", "%h", "a b", "-x"} {
		out, code := w.gcrcred("install", "--credentials", w.key, "--docker-users", "root,"+bad)
		if code != 2 || !strings.Contains(out, "is not a user name") {
			t.Errorf("--docker-users root,%s: exit %d\n%s", bad, code, out)
		}
	}
	w.sameTree("refused --docker-users", before)
}

// TestUnsupportedChangesNothing: a kubelet whose flags have no known home
// gets nothing, and install says what is missing.
func TestUnsupportedChangesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "unsupported")
	before := w.n.Tree()
	out, code := w.gcrcred("install", "--credentials", w.key)
	if code != 1 {
		t.Errorf("install on an unsupported node: exit %d", code)
	}
	for _, want := range []string{"nothing changed", "KUBELET_EXTRA_ARGS", "--image-credential-provider-config", "/lib/systemd/system/kubelet.service"} {
		if !strings.Contains(out, want) {
			t.Errorf("the refusal does not say %q:\n%s", want, out)
		}
	}
	w.sameTree("a refused install", before)
}

// TestKubeletThatFailsIsRolledBack: a kubelet that will not start with the
// provider flags gets its old flags and files back and runs again; install
// exits 1 saying so, and the node is as it was.
func TestKubeletThatFailsIsRolledBack(t *testing.T) {
	t.Parallel()
	for _, flavour := range []string{"kubeadm", "kicbase", "k3s"} {
		t.Run(flavour, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, flavour)
			before := w.n.Tree()
			w.n.FailUnit(serviceOf(flavour))
			out, code := w.gcrcred("install", "--credentials", w.key, "--kubelet-settle", "0s", "--docker-users", "root,docker")
			if code != 1 {
				t.Fatalf("install with a kubelet that fails: exit %d\n%s", code, out)
			}
			// k3s is Type=notify: its restart job itself fails; the
			// others come up and fall over.
			failed := "did not stay up"
			if flavour == "k3s" {
				failed = "`systemctl restart k3s` failed"
			}
			for _, want := range []string{failed, "put back", "restarted with them: active"} {
				if !strings.Contains(out, want) {
					t.Errorf("the failure does not say %q:\n%s", want, out)
				}
			}
			w.sameTree("a rolled-back install", before)
			if state, err := w.n.Systemctl("is-active", serviceOf(flavour)); err != nil || strings.TrimSpace(state) != "active" {
				t.Errorf("after the rollback the service is %q (%v)", state, err)
			}
			if args := w.n.KubeletArgs(); args == nil || args["image-credential-provider-config"] != "" {
				t.Errorf("after the rollback the kubelet runs with %v", args)
			}
		})
	}
}

// TestCredentialsAreRequired: without --credentials on a node that has
// none, install says so and changes nothing.
func TestCredentialsAreRequired(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "kubeadm")
	before := w.n.Tree()
	out, code := w.gcrcred("install")
	if code != 1 || !strings.Contains(out, "--credentials") || !strings.Contains(out, "nothing changed") {
		t.Errorf("install without credentials: exit %d\n%s", code, out)
	}
	w.sameTree("install without credentials", before)

	// A file the node's gcrcred could not use is refused before the node
	// gets it, with why, and without its content.
	dir := t.TempDir()
	for content, want := range map[string]string{
		`{"type":"no_such_type","private_key":"SECRET-NOT-A-PEM"}`:    "no_such_type",
		`{"type":"service_account","private_key":"SECRET-NOT-A-PEM"}`: "client_email",
		`not json SECRET-NOT-A-PEM`:                                   "bad.json is not valid JSON",
	} {
		f := filepath.Join(dir, "bad.json")
		must(t, os.WriteFile(f, []byte(content), 0o600))
		out, code := w.gcrcred("install", "--credentials", f, "--kubelet-settle", "0s")
		if code != 1 || !strings.Contains(out, want) || strings.Contains(out, "SECRET-NOT-A-PEM") {
			t.Errorf("install with %s: exit %d\n%s", content, code, out)
		}
		w.sameTree("install with unusable credentials", before)
	}
	// A FIFO is refused at once, never waited on.
	fifo := filepath.Join(dir, "fifo.json")
	must(t, syscall.Mkfifo(fifo, 0o600))
	if out, code := w.gcrcred("install", "--credentials", fifo, "--kubelet-settle", "0s"); code != 1 || !strings.Contains(out, "fifo.json is a named pipe (FIFO), not a regular file") {
		t.Errorf("install with a FIFO for credentials: exit %d\n%s", code, out)
	}
	w.sameTree("install with a FIFO for credentials", before)
}

// TestStatusAsAnotherUser: the DaemonSet's readiness probe runs status
// unprivileged (uid 65532): it works, checks the binary by what install
// recorded without running it, skips with a note what only root may read,
// and writes nothing.
func TestStatusAsAnotherUser(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "kubeadm")
	w.install()
	installed := w.n.Tree()
	out, code := w.run(how{uid: 65532}, "status")
	if code != 0 || !strings.Contains(out, "all well") || !strings.Contains(out, "as installed)") {
		t.Errorf("status as uid 65532: exit %d\n%s", code, out)
	}
	w.sameTree("status as uid 65532", installed)

	// As the Kubernetes packages leave a node: kubelet.service 0600 and
	// /var/lib/kubelet (kubeadm-flags.env) 0700. The probe checks the node
	// against the set-up install recorded, and says so.
	for _, p := range []string{"lib/systemd/system/kubelet.service", "usr/lib/systemd/system/kubelet.service", "etc/systemd/system/kubelet.service"} {
		if _, err := os.Stat(filepath.Join(w.n.Root, p)); err == nil {
			must(t, os.Chmod(filepath.Join(w.n.Root, p), 0o600))
		}
	}
	must(t, os.MkdirAll(filepath.Join(w.n.Root, "var/lib/kubelet"), 0o700))
	must(t, os.Chmod(filepath.Join(w.n.Root, "var/lib/kubelet"), 0o700))
	out, code = w.run(how{uid: 65532}, "status")
	if code != 0 || !strings.Contains(out, "all well") || !strings.Contains(out, "as install recorded it in "+nodelayout.InstalledFile) {
		t.Errorf("status as uid 65532 with root-only unit files: exit %d\n%s", code, out)
	}
	if out, code := w.gcrcred("status"); code != 0 || strings.Contains(out, "as install recorded it") {
		t.Errorf("status as root with root-only unit files: exit %d\n%s", code, out)
	}
}

// TestStaleKubeletIsReportedAndRestarted: a provider config newer than the
// running kubelet is one it has not read: status says so, and install
// restarts it.
func TestStaleKubeletIsReportedAndRestarted(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "kubeadm")
	w.install()
	restarts := w.n.Restarts("kubelet")
	w.install("--registries", "registry.example.com")
	if w.n.Restarts("kubelet") != restarts+1 {
		t.Error("a rerun that changed the provider config did not restart the kubelet")
	}
	config := filepath.Join(w.n.Root, "etc/gcrcred/credential-provider.yaml")
	later := mustStat(t, config).ModTime().Add(60e9)
	if err := os.Chtimes(config, later, later); err != nil {
		t.Fatal(err)
	}
	out, code := w.gcrcred("status")
	if code != 1 || !strings.Contains(out, "kubelet started before its current provider config: restart it") {
		t.Errorf("status with a stale kubelet: exit %d\n%s", code, out)
	}
	w.install()
	if out, code := w.gcrcred("status"); code != 0 {
		t.Errorf("install did not restart the stale kubelet: status exit %d\n%s", code, out)
	}
}

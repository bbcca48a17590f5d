// Package manifests checks deploy/, the manifests that install gcrcred on
// every node through a DaemonSet: each kustomization builds with the
// kustomize that kubectl embeds, every object decodes strictly into the
// Kubernetes API types and passes the API server's own validation, and the
// objects keep the contract that users, the e2e and the node installer
// rely on (names, the commands run, the installer's privileges, reaching every node).
package manifests

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	podutil "k8s.io/kubernetes/pkg/api/pod"
	"k8s.io/kubernetes/pkg/apis/apps"
	_ "k8s.io/kubernetes/pkg/apis/apps/install"
	appsvalidation "k8s.io/kubernetes/pkg/apis/apps/validation"
	"k8s.io/kubernetes/pkg/apis/core"
	_ "k8s.io/kubernetes/pkg/apis/core/install"
	corevalidation "k8s.io/kubernetes/pkg/apis/core/validation"
	"k8s.io/kubernetes/pkg/apis/rbac"
	_ "k8s.io/kubernetes/pkg/apis/rbac/install"
	rbacvalidation "k8s.io/kubernetes/pkg/apis/rbac/validation"
	"k8s.io/kubernetes/pkg/capabilities"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/gcrcred/gcrcred/internal/credfile"
)

// The names that users' overlays, the e2e and the docs rely on.
const (
	namespace     = "gcrcred-system"
	daemonSet     = "gcrcred-node"
	uninstallDS   = "gcrcred-node-uninstall"
	secretName    = "gcrcred-credentials"
	secretKey     = "credentials.json"
	imageName     = "gcrcred"
	hostRoot      = "/host"
	secretMount   = "/etc/gcrcred-secret"
	audienceVerb  = "request-serviceaccounts-token-audience"
	nodesGroup    = "system:nodes"
	audienceRole  = "gcrcred-service-account-audience"
	installArgs   = "/gcrcred node install --root /host --credentials /etc/gcrcred-secret/credentials.json"
	uninstallArgs = "/gcrcred node uninstall --root /host"
	statusProbe   = "/gcrcred node status --root /host"
)

// deployDir is the repository's deploy/, from this package's directory.
func deployDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "deploy"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "kustomization.yaml")); err != nil {
		t.Fatalf("deploy/kustomization.yaml not found from the test's directory: %v", err)
	}
	return dir
}

// objects is one kustomize build, decoded.
type objects struct {
	namespaces   []*corev1.Namespace
	secrets      []*corev1.Secret
	daemonSets   []*appsv1.DaemonSet
	clusterRoles []*rbacv1.ClusterRole
	bindings     []*rbacv1.ClusterRoleBinding
}

// build runs kustomize as `kubectl apply -k` does and decodes every object
// strictly: a field the API types do not have (a typo, or a field newer
// than Kubernetes v0.37's types) fails the test instead of being dropped,
// and an object of a kind nobody checks fails too.
func build(t *testing.T, fs filesys.FileSystem, dir string) objects {
	t.Helper()
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var o objects
	for _, r := range resMap.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		what := r.GetKind() + " " + r.GetName()
		switch gvk := r.GetGvk(); gvk.Group + "/" + gvk.Version + "/" + gvk.Kind {
		case "/v1/Namespace":
			o.namespaces = append(o.namespaces, decode[corev1.Namespace](t, what, y))
		case "/v1/Secret":
			o.secrets = append(o.secrets, decode[corev1.Secret](t, what, y))
		case "apps/v1/DaemonSet":
			o.daemonSets = append(o.daemonSets, decode[appsv1.DaemonSet](t, what, y))
		case "rbac.authorization.k8s.io/v1/ClusterRole":
			o.clusterRoles = append(o.clusterRoles, decode[rbacv1.ClusterRole](t, what, y))
		case "rbac.authorization.k8s.io/v1/ClusterRoleBinding":
			o.bindings = append(o.bindings, decode[rbacv1.ClusterRoleBinding](t, what, y))
		default:
			t.Fatalf("%s: %s is a kind this test does not check; add its checks here", dir, gvk)
		}
	}
	o.validate(t)
	return o
}

// strictYAML is the API server's own decoder in strict mode (what
// `kubectl apply --validate=strict` asks for): field names match case
// sensitively, and unknown or duplicate fields are errors.
var strictYAML = kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, legacyscheme.Scheme, legacyscheme.Scheme,
	kjson.SerializerOptions{Yaml: true, Strict: true})

func decode[T any, PT interface {
	*T
	runtime.Object
}](t *testing.T, what string, y []byte) PT {
	t.Helper()
	obj := PT(new(T))
	if _, _, err := strictYAML.Decode(y, nil, obj); err != nil {
		t.Fatalf("%s does not decode strictly into the Kubernetes API type: %v\n%s", what, err, y)
	}
	return obj
}

// validate runs what the API server runs on create: defaulting, conversion
// to the internal types, validation (with the API server's own options for
// pod templates) and the pod template warnings kubectl would print.
func (o objects) validate(t *testing.T) {
	t.Helper()
	// kube-apiserver --allow-privileged=true: off by default in the binary,
	// set by kubeadm, kind, k3s and managed clusters alike (their CNI and
	// kube-proxy DaemonSets are privileged too).
	capabilities.Setup(true, 0)
	for _, ns := range o.namespaces {
		in := &core.Namespace{}
		convert(t, ns, in)
		report(t, "Namespace "+ns.Name, corevalidation.ValidateNamespace(in))
	}
	for _, s := range o.secrets {
		in := &core.Secret{}
		convert(t, s, in)
		report(t, "Secret "+s.Name, corevalidation.ValidateSecret(in))
	}
	for _, ds := range o.daemonSets {
		in := &apps.DaemonSet{}
		convert(t, ds, in)
		opts := podutil.GetValidationOptionsFromPodTemplate(&in.Spec.Template, nil)
		report(t, "DaemonSet "+ds.Name, appsvalidation.ValidateDaemonSet(in, opts))
		if w := podutil.GetWarningsForPodTemplate(context.Background(), field.NewPath("spec", "template"), &in.Spec.Template, nil); len(w) > 0 {
			t.Errorf("DaemonSet %s: the API server would warn:\n  %s", ds.Name, strings.Join(w, "\n  "))
		}
	}
	for _, r := range o.clusterRoles {
		in := &rbac.ClusterRole{}
		convert(t, r, in)
		report(t, "ClusterRole "+r.Name, rbacvalidation.ValidateClusterRole(in, rbacvalidation.ClusterRoleValidationOptions{}))
	}
	for _, b := range o.bindings {
		in := &rbac.ClusterRoleBinding{}
		convert(t, b, in)
		report(t, "ClusterRoleBinding "+b.Name, rbacvalidation.ValidateClusterRoleBinding(in))
	}
}

// convert defaults a copy of the versioned object, as the API server does
// before validating, and converts it to the internal type.
func convert(t *testing.T, versioned runtime.Object, internal runtime.Object) {
	t.Helper()
	v := versioned.DeepCopyObject()
	legacyscheme.Scheme.Default(v)
	if err := legacyscheme.Scheme.Convert(v, internal, nil); err != nil {
		t.Fatalf("converting %T to %T: %v", versioned, internal, err)
	}
}

func report(t *testing.T, what string, errs field.ErrorList) {
	t.Helper()
	for _, e := range errs {
		t.Errorf("%s: the API server would refuse it: %v", what, e)
	}
}

func (o objects) daemonSet(t *testing.T, name string) *appsv1.DaemonSet {
	t.Helper()
	for _, ds := range o.daemonSets {
		if ds.Name == name {
			if ds.Namespace != namespace {
				t.Errorf("DaemonSet %s is in namespace %q, want %q", name, ds.Namespace, namespace)
			}
			return ds
		}
	}
	t.Fatalf("no DaemonSet %s in the build", name)
	return nil
}

func (o objects) secret(t *testing.T) *corev1.Secret {
	t.Helper()
	for _, s := range o.secrets {
		if s.Name == secretName && s.Namespace == namespace {
			return s
		}
	}
	t.Fatalf("no Secret %s/%s in the build", namespace, secretName)
	return nil
}

func argv(c *corev1.Container) string {
	return strings.Join(append(slices.Clone(c.Command), c.Args...), " ")
}

func TestManifestsInstall(t *testing.T) {
	o := build(t, filesys.MakeFsOnDisk(), deployDir(t))
	if len(o.namespaces) != 1 || len(o.secrets) != 1 || len(o.daemonSets) != 1 || len(o.clusterRoles)+len(o.bindings) != 0 {
		t.Errorf("deploy/ builds %d Namespaces, %d Secrets, %d DaemonSets, %d ClusterRoles, %d ClusterRoleBindings; want the namespace, the Secret and the DaemonSet only (RBAC is the workload-identity component's)",
			len(o.namespaces), len(o.secrets), len(o.daemonSets), len(o.clusterRoles), len(o.bindings))
	}
	checkNamespace(t, o)

	s := o.secret(t)
	if _, ok := s.StringData[secretKey]; !ok {
		t.Errorf("Secret %s has no key %q (stringData keys: %v)", secretName, secretKey, keys(s.StringData))
	}
	// A forgotten placeholder must change no node: it has no "type", which
	// `node install --credentials` refuses before touching anything, as
	// gcrcred's own credentials parser does.
	placeholder := []byte(s.StringData[secretKey])
	var typed struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(placeholder, &typed); err != nil || typed.Type != "" {
		t.Errorf("the placeholder %q must be JSON with no \"type\" (err %v)", placeholder, err)
	}
	if _, err := credfile.Parse(placeholder, secretMount+"/"+secretKey, "test", credfile.Node); err == nil {
		t.Errorf("gcrcred accepts the placeholder credentials %q", placeholder)
	}
	if !strings.Contains(string(placeholder), "replace the gcrcred-credentials Secret") {
		t.Errorf("the placeholder %q does not say what to do with it", placeholder)
	}

	ds := o.daemonSet(t, daemonSet)
	spec := &ds.Spec.Template.Spec
	checkEveryNode(t, ds)

	if len(spec.InitContainers) != 1 {
		t.Fatalf("DaemonSet %s has %d init containers, want 1 (install)", daemonSet, len(spec.InitContainers))
	}
	install := &spec.InitContainers[0]
	if got := argv(install); got != installArgs {
		t.Errorf("init container runs %q, want %q", got, installArgs)
	}
	checkInstaller(t, install)
	checkHostRoot(t, spec, install, false)
	secretVol := mountedVolume(t, spec, install, secretMount)
	if secretVol.Secret == nil || secretVol.Secret.SecretName != secretName {
		t.Errorf("init container's %s is not the Secret %s: %+v", secretMount, secretName, secretVol.VolumeSource)
	} else if items := secretVol.Secret.Items; len(items) > 0 && !slices.ContainsFunc(items, func(k corev1.KeyToPath) bool { return k.Key == secretKey && k.Path == secretKey }) {
		t.Errorf("Secret volume items %+v do not project %q to %s/%s", items, secretKey, secretMount, secretKey)
	}

	if len(spec.Containers) != 1 {
		t.Fatalf("DaemonSet %s has %d containers, want 1 (status)", daemonSet, len(spec.Containers))
	}
	main := &spec.Containers[0]
	checkUnprivileged(t, main)
	checkHostRoot(t, spec, main, true)
	for _, m := range main.VolumeMounts {
		if m.MountPath == secretMount {
			t.Errorf("the unprivileged container mounts the credentials; only the installer needs them")
		}
	}
	if p := main.ReadinessProbe; p == nil || p.Exec == nil {
		t.Errorf("main container has no exec readiness probe; `kubectl rollout status` would not show the nodes' state")
	} else if got := strings.Join(p.Exec.Command, " "); got != statusProbe {
		t.Errorf("readiness probe runs %q, want %q", got, statusProbe)
	} else if p.TimeoutSeconds < 5 {
		t.Errorf("readiness probe times out after %ds; `node status` on a busy node needs more", p.TimeoutSeconds)
	}
	if main.LivenessProbe != nil {
		t.Errorf("main container has a liveness probe: a node that is not set up would restart the pod in a loop instead of showing unready")
	}
}

func TestManifestsUninstall(t *testing.T) {
	o := build(t, filesys.MakeFsOnDisk(), filepath.Join(deployDir(t), "uninstall"))
	if len(o.namespaces) != 1 || len(o.secrets) != 0 || len(o.daemonSets) != 1 || len(o.clusterRoles)+len(o.bindings) != 0 {
		t.Errorf("deploy/uninstall builds %d Namespaces, %d Secrets, %d DaemonSets, %d RBAC objects; want the namespace and the uninstall DaemonSet",
			len(o.namespaces), len(o.secrets), len(o.daemonSets), len(o.clusterRoles)+len(o.bindings))
	}
	checkNamespace(t, o)
	ds := o.daemonSet(t, uninstallDS)
	spec := &ds.Spec.Template.Spec
	checkEveryNode(t, ds)
	if len(spec.InitContainers) != 1 {
		t.Fatalf("DaemonSet %s has %d init containers, want 1 (uninstall)", uninstallDS, len(spec.InitContainers))
	}
	un := &spec.InitContainers[0]
	if got := argv(un); got != uninstallArgs {
		t.Errorf("init container runs %q, want %q", got, uninstallArgs)
	}
	checkInstaller(t, un)
	checkHostRoot(t, spec, un, false)
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			t.Errorf("the uninstall DaemonSet mounts Secret %s; uninstall needs no credentials", v.Secret.SecretName)
		}
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("DaemonSet %s has %d containers, want 1", uninstallDS, len(spec.Containers))
	}
	checkUnprivileged(t, &spec.Containers[0])
	// Its selector must not take over gcrcred-node's pods, nor the reverse.
	if reflect.DeepEqual(ds.Spec.Selector.MatchLabels, map[string]string{"app.kubernetes.io/name": daemonSet}) {
		t.Errorf("the uninstall DaemonSet selects gcrcred-node's pods")
	}
}

// TestManifestsOverlay builds the overlay README tells users to write, with
// the workload-identity component: the real key replaces the placeholder
// under the same name, every container gets the real image, and the RBAC
// lets nodes request the user's audience.
func TestManifestsOverlay(t *testing.T) {
	fs := filesys.MakeFsInMemory()
	copyTree(t, deployDir(t), fs, "/src/gcrcred/deploy")
	key := []byte(`{"type": "service_account", "client_email": "puller@p.iam.gserviceaccount.com", "private_key": "x"}` + "\n")
	const audience = "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/cluster"
	overlay := `
resources:
- ../gcrcred/deploy
components:
- ../gcrcred/deploy/workload-identity
images:
- name: gcrcred
  newName: europe-docker.pkg.dev/my-project/tools/gcrcred
  newTag: v1.2.3
secretGenerator:
- name: gcrcred-credentials
  namespace: gcrcred-system
  behavior: replace
  files: [credentials.json=key.json]
  options:
    disableNameSuffixHash: true
patches:
- target: {kind: ClusterRole, name: gcrcred-service-account-audience}
  patch: |-
    - op: replace
      path: /rules/0/resources
      value: ["` + audience + `"]
`
	writeFile(t, fs, "/src/my-cluster/kustomization.yaml", []byte(overlay))
	writeFile(t, fs, "/src/my-cluster/key.json", key)

	o := build(t, fs, "/src/my-cluster")
	s := o.secret(t)
	if got := s.Data[secretKey]; string(got) != string(key) {
		t.Errorf("Secret %s key %s holds %q, want the overlay's key file", secretName, secretKey, got)
	}
	if len(s.StringData) != 0 {
		t.Errorf("the placeholder survived the replacement: stringData %v", keys(s.StringData))
	}
	ds := o.daemonSet(t, daemonSet)
	for _, c := range slices.Concat(ds.Spec.Template.Spec.InitContainers, ds.Spec.Template.Spec.Containers) {
		if c.Image != "europe-docker.pkg.dev/my-project/tools/gcrcred:v1.2.3" {
			t.Errorf("container %s has image %q: the overlay's images: entry did not reach it", c.Name, c.Image)
		}
	}
	for _, v := range ds.Spec.Template.Spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName != secretName {
			t.Errorf("the DaemonSet mounts Secret %q; the name must stay %q", v.Secret.SecretName, secretName)
		}
	}

	if len(o.clusterRoles) != 1 || len(o.bindings) != 1 {
		t.Fatalf("the workload-identity component gave %d ClusterRoles and %d ClusterRoleBindings, want 1 and 1", len(o.clusterRoles), len(o.bindings))
	}
	role, binding := o.clusterRoles[0], o.bindings[0]
	want := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{audience}, Verbs: []string{audienceVerb}}}
	if role.Name != audienceRole || !reflect.DeepEqual(role.Rules, want) {
		t.Errorf("ClusterRole %s rules %+v, want %+v", role.Name, role.Rules, want)
	}
	if binding.RoleRef != (rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name}) {
		t.Errorf("ClusterRoleBinding %s refers to %+v, not the ClusterRole %s", binding.Name, binding.RoleRef, role.Name)
	}
	if !reflect.DeepEqual(binding.Subjects, []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: nodesGroup}}) {
		t.Errorf("ClusterRoleBinding %s subjects %+v, want only the group %s", binding.Name, binding.Subjects, nodesGroup)
	}
}

// TestManifestsUninstallOverlay: the uninstall overlay README describes
// gets the real image in every container, as install's does.
func TestManifestsUninstallOverlay(t *testing.T) {
	fs := filesys.MakeFsInMemory()
	copyTree(t, deployDir(t), fs, "/src/gcrcred/deploy")
	writeFile(t, fs, "/src/my-cluster/uninstall/kustomization.yaml", []byte(`
resources:
- ../../gcrcred/deploy/uninstall
images:
- name: gcrcred
  newName: europe-docker.pkg.dev/my-project/tools/gcrcred
  newTag: v1.2.3
`))
	o := build(t, fs, "/src/my-cluster/uninstall")
	ds := o.daemonSet(t, uninstallDS)
	for _, c := range slices.Concat(ds.Spec.Template.Spec.InitContainers, ds.Spec.Template.Spec.Containers) {
		if c.Image != "europe-docker.pkg.dev/my-project/tools/gcrcred:v1.2.3" {
			t.Errorf("container %s has image %q: the overlay's images: entry did not reach it", c.Name, c.Image)
		}
	}
}

// TestManifestsAllUsed: every manifest under deploy/ is reached by one of
// the kustomizations above, so none escapes these checks.
func TestManifestsAllUsed(t *testing.T) {
	root := deployDir(t)
	used := map[string]bool{}
	var kustomizations []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == "kustomization.yaml" {
			kustomizations = append(kustomizations, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range kustomizations {
		data, err := os.ReadFile(k)
		if err != nil {
			t.Fatal(err)
		}
		var kust struct {
			Resources []string `json:"resources"`
		}
		if err := yaml.Unmarshal(data, &kust); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		for _, r := range kust.Resources {
			used[filepath.Join(filepath.Dir(k), r)] = true
		}
	}
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() != "kustomization.yaml" && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) && !used[path] {
			t.Errorf("%s is in no kustomization's resources: it would never be applied or checked", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func checkNamespace(t *testing.T, o objects) {
	t.Helper()
	for _, ns := range o.namespaces {
		if ns.Name != namespace {
			t.Errorf("Namespace %q, want %q", ns.Name, namespace)
		}
		// A cluster whose default Pod Security level is baseline or
		// restricted would refuse the installer's pods otherwise.
		if got := ns.Labels["pod-security.kubernetes.io/enforce"]; got != "privileged" {
			t.Errorf("Namespace %s: pod-security.kubernetes.io/enforce is %q, want privileged", ns.Name, got)
		}
	}
}

// checkEveryNode: the DaemonSet's pods can land on every Linux node
// whatever its taints, see the host's processes, and use the name the
// overlays' images: entries replace.
func checkEveryNode(t *testing.T, ds *appsv1.DaemonSet) {
	t.Helper()
	spec := &ds.Spec.Template.Spec
	tolerateAll := slices.ContainsFunc(spec.Tolerations, func(tol corev1.Toleration) bool {
		return tol.Operator == corev1.TolerationOpExists && tol.Key == "" && tol.Effect == ""
	})
	if !tolerateAll {
		t.Errorf("DaemonSet %s: tolerations %+v do not tolerate every taint (want {operator: Exists})", ds.Name, spec.Tolerations)
	}
	for k, v := range spec.NodeSelector {
		if k != "kubernetes.io/os" || v != "linux" {
			t.Errorf("DaemonSet %s: nodeSelector %s=%s keeps it off some nodes", ds.Name, k, v)
		}
	}
	if spec.Affinity != nil || spec.NodeName != "" {
		t.Errorf("DaemonSet %s: affinity or nodeName keeps it off some nodes", ds.Name)
	}
	// The node's /proc comes with hostPath /; the host's PID namespace is
	// for systemctl, which refuses a bus whose peer (systemd) has no PID in
	// its own (make e2e: "Failed to connect to bus: No data available").
	if !spec.HostPID {
		t.Errorf("DaemonSet %s: hostPID is off; the installer's systemctl cannot reach systemd without it", ds.Name)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("DaemonSet %s: mounts a service-account token it never uses", ds.Name)
	}
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType {
		t.Errorf("DaemonSet %s: update strategy %q; a new image must reach the nodes without deleting pods by hand", ds.Name, ds.Spec.UpdateStrategy.Type)
	}
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		if c.Image != imageName {
			t.Errorf("DaemonSet %s container %s: image %q, want %q (overlays set the real reference with images: [{name: gcrcred, ...}])", ds.Name, c.Name, c.Image, imageName)
		}
		if c.ImagePullPolicy != corev1.PullIfNotPresent {
			t.Errorf("DaemonSet %s container %s: imagePullPolicy %q, want IfNotPresent", ds.Name, c.Name, c.ImagePullPolicy)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
			t.Errorf("DaemonSet %s container %s: no CPU or memory request", ds.Name, c.Name)
		}
	}
}

// installerCapabilities are all the installer (install and uninstall) gets
// instead of privileged: `make e2e` fails without either (systemctl chrooted
// into /host; the kubelet's /proc/PID/exe) and passes without CHOWN,
// DAC_OVERRIDE and FOWNER.
var installerCapabilities = []corev1.Capability{"SYS_CHROOT", "SYS_PTRACE"}

// checkInstaller: root, not privileged, with installerCapabilities only.
func checkInstaller(t *testing.T, c *corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	if sc == nil {
		t.Fatalf("container %s has no securityContext", c.Name)
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Errorf("container %s is privileged; it needs only the capabilities %v", c.Name, installerCapabilities)
	}
	if sc.RunAsUser == nil || *sc.RunAsUser != 0 {
		t.Errorf("container %s does not run as root (runAsUser %v); it writes root's files on the node", c.Name, sc.RunAsUser)
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || !slices.Equal(sc.Capabilities.Add, installerCapabilities) {
		t.Errorf("container %s: capabilities %+v, want drop [ALL] and add %v", c.Name, sc.Capabilities, installerCapabilities)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("container %s: allowPrivilegeEscalation is not false", c.Name)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("container %s: root filesystem is writable", c.Name)
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container %s: seccomp profile %+v, want RuntimeDefault", c.Name, sc.SeccompProfile)
	}
}

func checkUnprivileged(t *testing.T, c *corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	if sc == nil {
		t.Fatalf("container %s has no securityContext: it would run as the image's root", c.Name)
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Errorf("container %s is privileged", c.Name)
	}
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("container %s: want runAsNonRoot and a non-zero runAsUser (the image has no user of its own)", c.Name)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("container %s: root filesystem is writable", c.Name)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("container %s: allowPrivilegeEscalation is not false", c.Name)
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		t.Errorf("container %s: capabilities %+v, want drop [ALL] and none added", c.Name, sc.Capabilities)
	}
	if !strings.HasPrefix(argv(c), "/gcrcred ") {
		t.Errorf("container %s runs %q: it must be gcrcred itself, with a subcommand", c.Name, argv(c))
	}
}

// checkHostRoot: the container sees the node's / at /host, writable only
// for the installer.
func checkHostRoot(t *testing.T, spec *corev1.PodSpec, c *corev1.Container, readOnly bool) {
	t.Helper()
	v := mountedVolume(t, spec, c, hostRoot)
	if v.HostPath == nil || v.HostPath.Path != "/" {
		t.Errorf("container %s: %s is not the node's / (hostPath /): %+v", c.Name, hostRoot, v.VolumeSource)
	}
	for _, m := range c.VolumeMounts {
		if m.MountPath == hostRoot && m.ReadOnly != readOnly {
			t.Errorf("container %s: %s mounted readOnly=%v, want %v", c.Name, hostRoot, m.ReadOnly, readOnly)
		}
	}
}

func mountedVolume(t *testing.T, spec *corev1.PodSpec, c *corev1.Container, path string) *corev1.Volume {
	t.Helper()
	for _, m := range c.VolumeMounts {
		if m.MountPath != path {
			continue
		}
		for i := range spec.Volumes {
			if spec.Volumes[i].Name == m.Name {
				return &spec.Volumes[i]
			}
		}
		t.Fatalf("container %s mounts volume %q, which the pod does not define", c.Name, m.Name)
	}
	t.Fatalf("container %s mounts nothing at %s", c.Name, path)
	return nil
}

func keys[V any](m map[string]V) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	slices.Sort(k)
	return k
}

func copyTree(t *testing.T, src string, fs filesys.FileSystem, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		writeFile(t, fs, filepath.Join(dst, rel), data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, fs filesys.FileSystem, path string, data []byte) {
	t.Helper()
	if err := fs.MkdirAll(filepath.Dir(path)); err != nil {
		t.Fatal(err)
	}
	if err := fs.WriteFile(path, data); err != nil {
		t.Fatal(err)
	}
}

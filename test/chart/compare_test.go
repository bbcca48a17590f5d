package chart

import (
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/cli/values"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const (
	repository = "europe-docker.pkg.dev/my-project/tools/gcrcred"
	digest     = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	audience   = "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/cluster"
)

var (
	key        = []byte(`{"type": "service_account", "client_email": "puller@p.iam.gserviceaccount.com", "private_key": "x"}` + "\n")
	wiConfig   = []byte(`{"type": "external_account", "audience": "` + audience + `", "subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "token_url": "https://sts.googleapis.com/v1/token"}` + "\n")
	imageByDig = "images:\n- name: gcrcred\n  newName: " + repository + "\n  digest: " + digest + "\n"
	imageVals  = []string{"image.repository=" + repository, "image.digest=" + digest}
)

// secretGenerator is the README's replacement of the placeholder Secret.
func secretGenerator(files string) string {
	return `secretGenerator:
- name: gcrcred-credentials
  namespace: gcrcred-system
  behavior: replace
  files: [` + files + `]
  options:
    disableNameSuffixHash: true
`
}

// TestChartDefaults: the chart with its default values is deploy/ itself
// (kubectl apply -k deploy/): the placeholder Secret, the image name
// gcrcred, every Linux node.
func TestChartDefaults(t *testing.T) {
	same(t, mustRender(t, values.Options{}), kustomize(t, filesys.MakeFsOnDisk(), filepath.Join(repoDir(t), "deploy")))
}

// TestChartKey: the README's overlay (the image by digest, a key in the
// Secret) and the chart with the same two things.
func TestChartKey(t *testing.T) {
	fs, dir := overlay(t, "resources:\n- ../gcrcred/deploy\n"+imageByDig+secretGenerator("credentials.json=key.json"),
		map[string][]byte{"key.json": key})
	chart := mustRender(t, values.Options{Values: imageVals,
		FileValues: []string{"credentials.json=" + writeTemp(t, "key.json", key)}})
	same(t, chart, kustomize(t, fs, dir))
}

// perPodOverlay is deploy/workload-identity's documented overlay (as `make
// e2e` applies it): the component, the audience in the RBAC, the files in
// the Secret and the installer's arguments.
func perPodOverlay(t *testing.T, secretFiles string, args string, files map[string][]byte) (filesys.FileSystem, string) {
	return overlay(t, `resources:
- ../gcrcred/deploy
components:
- ../gcrcred/deploy/workload-identity
`+imageByDig+secretGenerator(secretFiles)+`patches:
- target: {kind: ClusterRole, name: gcrcred-service-account-audience}
  patch: |-
    - op: replace
      path: /rules/0/resources
      value: ["`+audience+`"]
- target: {kind: DaemonSet, name: gcrcred-node}
  patch: |-
    - op: replace
      path: /spec/template/spec/initContainers/0/args
      value: `+args+`
`, files)
}

// TestChartPerPod: per-pod identity with a node key for the pods that ask
// for nothing (the e2e's configuration), and without one, every pod as
// itself, with a subject mapping and an extra registry.
func TestChartPerPod(t *testing.T) {
	wiFile := writeTemp(t, "wi.json", wiConfig)
	t.Run("annotated with a node key", func(t *testing.T) {
		fs, dir := perPodOverlay(t, "credentials.json=key.json, workload-identity.json",
			`[node, install, --root, /host, --credentials, /etc/gcrcred-secret/credentials.json, --workload-identity, /etc/gcrcred-secret/workload-identity.json, --service-account-audience, "`+audience+`", --pod-identity, annotated]`,
			map[string][]byte{"key.json": key, "workload-identity.json": wiConfig})
		chart := mustRender(t, values.Options{
			Values:     append(imageVals, "podIdentity.enabled=true", "podIdentity.audience="+audience),
			FileValues: []string{"credentials.json=" + writeTemp(t, "key.json", key), "podIdentity.workloadIdentity=" + wiFile}})
		same(t, chart, kustomize(t, fs, dir))
	})
	t.Run("all, no node key", func(t *testing.T) {
		fs, dir := perPodOverlay(t, "workload-identity.json",
			`[node, install, --root, /host, --workload-identity, /etc/gcrcred-secret/workload-identity.json, --service-account-audience, "`+audience+`", --pod-identity, all, --require-service-account, --subject-mapping, "assertion['kubernetes.io']['namespace']", --registries, "registry.corp.example.com,*.pkg.example.com"]`,
			map[string][]byte{"workload-identity.json": wiConfig})
		chart := mustRender(t, values.Options{
			Values: append(imageVals, "podIdentity.enabled=true", "podIdentity.audience="+audience, "podIdentity.mode=all",
				"podIdentity.requireServiceAccount=true"),
			LiteralValues: []string{"podIdentity.subjectMapping=assertion['kubernetes.io']['namespace']"},
			JSONValues:    []string{`registries=["registry.corp.example.com","*.pkg.example.com"]`},
			FileValues:    []string{"podIdentity.workloadIdentity=" + wiFile}})
		same(t, chart, kustomize(t, fs, dir))
	})
}

// TestChartPlacement: where the pods run, what they may use and their
// environment, and the image by tag alone, as values and as an overlay's
// patches.
func TestChartPlacement(t *testing.T) {
	fs, dir := overlay(t, `resources:
- ../gcrcred/deploy
images:
- name: gcrcred
  newName: `+repository+`
  newTag: "1.2.3"
`+secretGenerator("credentials.json=key.json")+`patches:
- target: {kind: DaemonSet, name: gcrcred-node}
  patch: |-
    - op: replace
      path: /spec/template/spec/nodeSelector
      value: {kubernetes.io/os: linux, cloud.google.com/gke-nodepool: pool-1}
    - op: replace
      path: /spec/template/spec/tolerations
      value: [{key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}]
    - op: replace
      path: /spec/template/spec/initContainers/0/resources/limits/memory
      value: 256Mi
    - op: add
      path: /spec/template/spec/initContainers/0/env
      value: [{name: GCRCRED_LOG, value: debug}]
    - op: add
      path: /spec/template/spec/containers/0/env
      value: [{name: GCRCRED_LOG, value: debug}]
`, map[string][]byte{"key.json": key})
	chart := mustRender(t, values.Options{
		Values:       []string{"image.repository=" + repository, "resources.install.limits.memory=256Mi"},
		StringValues: []string{"image.tag=1.2.3"},
		JSONValues: []string{
			`nodeSelector={"kubernetes.io/os":"linux","cloud.google.com/gke-nodepool":"pool-1"}`,
			`tolerations=[{"key":"dedicated","operator":"Equal","value":"gpu","effect":"NoSchedule"}]`,
			`env=[{"name":"GCRCRED_LOG","value":"debug"}]`},
		FileValues: []string{"credentials.json=" + writeTemp(t, "key.json", key)}})
	same(t, chart, kustomize(t, fs, dir))
}

// TestChartUninstall: uninstall=true renders deploy/uninstall (its
// namespace and gcrcred-node-uninstall; no Secret, no install DaemonSet,
// no RBAC), so `helm upgrade --set uninstall=true` replaces one with the
// other.
func TestChartUninstall(t *testing.T) {
	fs, dir := overlay(t, "resources:\n- ../gcrcred/deploy/uninstall\n"+imageByDig, map[string][]byte{})
	chart := mustRender(t, values.Options{Values: append(imageVals, "uninstall=true", "podIdentity.enabled=true", "podIdentity.audience="+audience),
		FileValues: []string{"credentials.json=" + writeTemp(t, "key.json", key), "podIdentity.workloadIdentity=" + writeTemp(t, "wi.json", wiConfig)}})
	same(t, chart, kustomize(t, fs, dir))
}

// TestChartExistingSecret: a Secret of the user's is mounted, and the
// chart makes none.
func TestChartExistingSecret(t *testing.T) {
	o := mustRender(t, values.Options{Values: append(imageVals, "credentials.existingSecret=my-google-key")})
	for k := range o {
		if strings.HasPrefix(k, "Secret ") {
			t.Errorf("the chart renders %s besides the existing Secret", k)
		}
	}
	ds, ok := o["DaemonSet gcrcred-system/gcrcred-node"].(*appsv1.DaemonSet)
	if !ok {
		t.Fatalf("no DaemonSet gcrcred-node: %v", o)
	}
	var mounted string
	for _, v := range ds.Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			mounted = v.Secret.SecretName
		}
	}
	if mounted != "my-google-key" {
		t.Errorf("the DaemonSet mounts Secret %q, want my-google-key", mounted)
	}
}

// TestChartRefuses: values that would install something else than meant
// are refused before anything reaches a cluster, saying what to do.
func TestChartRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts values.Options
		want string
	}{
		{"a typo in a value's name", values.Options{Values: []string{"credential.json=x"}}, "credential"},
		{"a digest that is not one", values.Options{Values: []string{"image.digest=latest"}}, "/image/digest"},
		{"an unknown mode", values.Options{Values: []string{"podIdentity.mode=some"}}, "/podIdentity/mode"},
		{"per-pod identity without an audience", values.Options{Values: []string{"podIdentity.enabled=true", "podIdentity.workloadIdentity=x"}}, "podIdentity.audience"},
		{"per-pod identity without its configuration", values.Options{Values: []string{"podIdentity.enabled=true", "podIdentity.audience=" + audience}}, "--set-file podIdentity.workloadIdentity=FILE"},
		{"a key given twice", values.Options{Values: []string{"credentials.json=x", "credentials.existingSecret=s"}}, "both set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := helmRender(t, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("helm template %+v: %v; want an error mentioning %q", tc.opts, err, tc.want)
			} else {
				t.Logf("refused: %v", err)
			}
		})
	}
}

// TestChartNamespaceRelease: Helm keeps its release record in the
// namespace given with -n, which must exist before the chart's objects
// are made: a release in the namespace the chart creates is refused with
// the way out; with namespace.create=false it is the user's.
func TestChartNamespaceRelease(t *testing.T) {
	_, err := helmRenderIn(t, "gcrcred-system", values.Options{})
	if err == nil || !strings.Contains(err.Error(), "namespace.create=false") {
		t.Errorf("helm template -n gcrcred-system: %v; want a refusal naming namespace.create=false", err)
	}
	m, err := helmRenderIn(t, "gcrcred-system", values.Options{Values: []string{"namespace.create=false"}})
	if err != nil {
		t.Fatal(err)
	}
	o := decode(t, "helm template -n gcrcred-system --set namespace.create=false", m)
	if _, ok := o["Namespace /gcrcred-system"]; ok || len(o) != 2 {
		t.Errorf("with namespace.create=false the chart renders %d objects, want the Secret and the DaemonSet only", len(o))
	}
}

// TestChartLint: `helm lint --strict` finds nothing to warn about, with
// the defaults and with per-pod identity (information, such as a missing
// icon, is printed, not failed).
func TestChartLint(t *testing.T) {
	for name, vals := range map[string]map[string]any{
		"defaults": nil,
		"per-pod":  {"podIdentity": map[string]any{"enabled": true, "audience": audience, "workloadIdentity": string(wiConfig)}},
	} {
		lint := action.NewLint()
		lint.Strict = true
		lint.Namespace = "default"
		r := lint.Run([]string{filepath.Join(repoDir(t), "charts", "gcrcred")}, vals)
		for _, m := range r.Messages {
			t.Logf("%s: %v", name, m)
		}
		if r.TotalChartsLinted != 1 || len(r.Errors) > 0 {
			t.Errorf("helm lint --strict (%s): %d charts linted, errors %v", name, r.TotalChartsLinted, r.Errors)
		}
	}
}

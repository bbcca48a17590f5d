// Package chart checks charts/gcrcred against deploy/: the chart rendered
// by Helm v4's own code (the install action in client-only dry-run mode,
// what `helm template` runs) and the kustomize build kubectl embeds (krusty)
// must give the same objects, field for field, for the default values and
// for each configuration the README and docs describe. deploy/'s objects
// are validated as the API server would in test/kubelet/manifests; equal
// objects carry that over to the chart.
package chart

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/cli"
	"helm.sh/helm/v4/pkg/cli/values"
	"helm.sh/helm/v4/pkg/getter"
	release "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	kio "sigs.k8s.io/kustomize/kyaml/kio"
)

// repoDir is the repository, from this package's directory.
func repoDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"deploy/kustomization.yaml", "charts/gcrcred/Chart.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Fatalf("%s not found from the test's directory: %v", p, err)
		}
	}
	return dir
}

// helmRender renders the chart as `helm template gcrcred charts/gcrcred -n
// default OPTIONS` does: values merged by Helm's own --set, --set-file and
// --set-json code, validated against values.schema.json, rendered by the
// install action without a cluster.
func helmRender(t *testing.T, opts values.Options) (string, error) {
	t.Helper()
	return helmRenderIn(t, "default", opts)
}

// helmRenderIn is helmRender with the release in namespace ns (helm -n ns).
func helmRenderIn(t *testing.T, ns string, opts values.Options) (string, error) {
	t.Helper()
	ch, err := loader.Load(filepath.Join(repoDir(t), "charts", "gcrcred"))
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	vals, err := opts.MergeValues(getter.All(cli.New()))
	if err != nil {
		t.Fatalf("values %+v: %v", opts, err)
	}
	install := action.NewInstall(action.NewConfiguration())
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName = "gcrcred"
	install.Namespace = ns
	install.Replace = true
	rel, err := install.RunWithContext(context.Background(), ch, vals)
	if err != nil {
		return "", err
	}
	r, ok := rel.(*release.Release)
	if !ok {
		t.Fatalf("the install action returned a %T", rel)
	}
	if len(r.Hooks) > 0 {
		t.Errorf("the chart has %d hooks; deploy/ has none to compare them with", len(r.Hooks))
	}
	return r.Manifest, nil
}

// objects are the decoded objects of one render, by "Kind namespace/name".
type objects map[string]runtime.Object

// strictYAML decodes as `kubectl apply --validate=strict` does: unknown or
// duplicate fields are errors.
var strictYAML = kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme,
	kjson.SerializerOptions{Yaml: true, Strict: true})

// decode splits a multi-document YAML stream and decodes each object into
// its Kubernetes API type, with the API server's defaults applied (so
// that, say, an omitted protocol and an explicit TCP compare equal, as
// they would once applied).
func decode(t *testing.T, what, stream string) objects {
	t.Helper()
	nodes, err := (&kio.ByteReader{Reader: strings.NewReader(stream), OmitReaderAnnotations: true}).Read()
	if err != nil {
		t.Fatalf("%s: %v\n%s", what, err, stream)
	}
	out := objects{}
	for _, n := range nodes {
		y, err := n.String()
		if err != nil {
			t.Fatal(err)
		}
		obj, gvk, err := strictYAML.Decode([]byte(y), nil, nil)
		if err != nil {
			t.Fatalf("%s: an object does not decode strictly into its Kubernetes API type: %v\n%s", what, err, y)
		}
		scheme.Scheme.Default(obj)
		key := gvk.Kind + " " + n.GetNamespace() + "/" + n.GetName()
		if _, dup := out[key]; dup {
			t.Fatalf("%s: %s twice", what, key)
		}
		out[key] = obj
	}
	return out
}

// kustomize builds dir of fs as `kubectl apply -k` does.
func kustomize(t *testing.T, fs filesys.FileSystem, dir string) objects {
	t.Helper()
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	y, err := resMap.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, "kustomize build "+dir, string(y))
}

// overlay is an in-memory tree holding the repository's deploy/ at
// /src/gcrcred/deploy and kustomization (with files) at /src/my-cluster,
// as the README lays an overlay out; it returns the overlay's directory.
func overlay(t *testing.T, kustomization string, files map[string][]byte) (filesys.FileSystem, string) {
	t.Helper()
	fs := filesys.MakeFsInMemory()
	src := filepath.Join(repoDir(t), "deploy")
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		return writeFile(fs, filepath.Join("/src/gcrcred/deploy", rel), data)
	})
	if err != nil {
		t.Fatal(err)
	}
	files["kustomization.yaml"] = []byte(kustomization)
	for name, data := range files {
		if err := writeFile(fs, filepath.Join("/src/my-cluster", name), data); err != nil {
			t.Fatal(err)
		}
	}
	return fs, "/src/my-cluster"
}

func writeFile(fs filesys.FileSystem, path string, data []byte) error {
	if err := fs.MkdirAll(filepath.Dir(path)); err != nil {
		return err
	}
	return fs.WriteFile(path, data)
}

// same compares the chart's objects with kustomize's, object by object,
// and prints each difference.
func same(t *testing.T, chart, kust objects) {
	t.Helper()
	var keys []string
	for k := range chart {
		keys = append(keys, k)
	}
	for k := range kust {
		if _, ok := chart[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		c, inChart := chart[k]
		kz, inKust := kust[k]
		switch {
		case !inChart:
			t.Errorf("%s: kustomize builds it, the chart does not", k)
		case !inKust:
			t.Errorf("%s: the chart renders it, kustomize does not", k)
		case !equality.Semantic.DeepEqual(c, kz):
			t.Errorf("%s differs (- chart, + kustomize):\n%s", k, diff.Diff(c, kz))
		}
	}
	if !t.Failed() {
		t.Logf("%d objects, equal: %s", len(keys), strings.Join(keys, ", "))
	}
}

// writeTemp writes data to a file of the test's and returns its path (for
// --set-file).
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustRender(t *testing.T, opts values.Options) objects {
	t.Helper()
	m, err := helmRender(t, opts)
	if err != nil {
		t.Fatalf("helm template with %+v: %v", opts, err)
	}
	return decode(t, "helm template", m)
}

package yamlfile

import (
	"encoding/json"
	"errors"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml" // the kubelet's YAML reader: what every result is held to
)

// same reports whether two JSON texts hold the same value.
func same(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

// read are documents the reader takes: each must read as the kubelet's
// reader reads it.
var read = []string{
	"",
	"# only a comment\n",
	"---\na: 1\n",
	"a: b\n",
	"a: 'x' # c",
	"a: b # c\n",
	"a: b#c\n",
	"a: \"x # y\"\n",
	"a: 'it''s'\n",
	"a: \"\\u00e9\\x41\\t\\\"\"\n",
	"a: 2001-12-14\nb: 0644\nc: 1_000\nd: 1.5e3\ne: yes\nf: y\ng: ~\nh:\ni: 0x1F\nj: 1:20\nk: 0b101\nl: -0b101\nm: +12\nna: .5\no: 1.\np: On\nq: 3.0\nr: 007\ns: 08\nt: NULL\nu: 012345678901234567890\nv: 1e400\n",
	"a: [1, b, 'c d', {e: f}, []]\n",
	"a: {b: c, d: [1,2], \"e f\": 'g'}\n",
	"- a\n- b\n",
	"a:\n- 1\n- 2\nb: c\n",
	"a:\n  - 1\n  - 2\n",
	"a:\n  b:\n    c: d\n  e: f\ng: h\n",
	"- name: x\n  args:\n  - y\n  env:\n  - name: A\n    value: \"1\"\n- name: z\n",
	"- - a\n  - b\n- c\n",
	"-\n  a: b\n-\n",
	"\"quoted key\": v\n'single': w\n",
	"a:\n\n  b: c\n",
	"a: http://x:80/y\nb: x:y\nc: -x\nd: ?x\ne: :x\n",
	`{"apiVersion": "kubelet.config.k8s.io/v1", "providers": [{"name": "ecr"}]}`,
	"apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfeatureGates:\n  KubeletEnsureSecretPulledImages: true\n  Other: false\nimagePullCredentialsVerificationPolicy: NeverVerifyPreloadedImages\n",
	"write-kubeconfig-mode: \"0644\"\ntls-san:\n  - \"foo.local\"\nkubelet-arg:\n  - \"image-credential-provider-config=/etc/x.yaml\"\nimage-credential-provider-bin-dir: /var/lib/rancher/credentialprovider/bin\nnode-label: [\"a=b\", c=d]\n",
	"apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n- name: ecr-credential-provider\n  matchImages:\n  - \"*.dkr.ecr.*.amazonaws.com\"\n  - '*.dkr.ecr.*.amazonaws.com.cn'\n  defaultCacheDuration: \"12h\"\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n  args: [get-credentials]\n  env:\n  - name: AWS_PROFILE\n    value: temp\n",
}

func TestReadsAsTheKubeletDoes(t *testing.T) {
	for _, doc := range read {
		want, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatalf("the corpus holds a document the kubelet refuses: %q: %v", doc, err)
		}
		got, err := ToJSON([]byte(doc))
		if err != nil {
			t.Errorf("%q: %v", doc, err)
			continue
		}
		if !same(t, got, want) {
			t.Errorf("%q: read %s, the kubelet reads %s", doc, got, want)
		}
	}
}

// TestRefusesWhatItDoesNotRead: valid YAML outside what the reader takes is
// an error naming the line, never a value read otherwise.
func TestRefusesWhatItDoesNotRead(t *testing.T) {
	for _, doc := range []string{
		"a: &x 1\nb: *x\n",
		"a: !!str 1\n",
		"a: |\n  x\n",
		"a: >\n  x\n",
		"a: b\n  c\n",
		"- a\n  b\n",
		"a: b\na: c\n",
		"---\na: 1\n---\nb: 2\n",
		"? a\n: b\n",
		"a: .inf\n",
		"true: x\n",
		"n: x\n",
		"1: x\n",
		"a: [1,\n  2]\n",
		"a: 'x\n  y'\n",
		"%YAML 1.1\n---\na: 1\n",
		"{a: 1,\n b: 2}\n",
	} {
		if _, err := ToJSON([]byte(doc)); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "line") && !strings.Contains(err.Error(), "JSON") {
			t.Errorf("%q: %v, want ErrUnsupported naming the line", doc, err)
		}
	}
	for _, doc := range []string{"a: b: c\n", "a:\n\t- b\n", "a: 'x' y\n", "a\n  b: c\n", "a: - b\n", "a: -\n", "  a: 1\nb: 2\n"} {
		if _, err := ToJSON([]byte(doc)); err == nil {
			t.Errorf("%q: read, but it is not YAML", doc)
		}
	}
}

// TestWritesWhatTheKubeletReadsBack: whatever Marshal writes reads back,
// through the kubelet's reader and through this one, as the value written.
func TestWritesWhatTheKubeletReadsBack(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	alphabet := []string{"a", "Z", "0", "7", "-", "_", ".", "/", ":", " ", "#", "'", "\"", "*", "&", "!", "[", "]", "{", "}", ",", "?", "@", "%", "|", ">", "\\", "\t", "\n", "é", "=", "+", "~", "e", "x", "y", "n", "true", "null", "1.5", "0x1", "2001-12-14", "0644", ": ", " #", ".inf"}
	str := func() string {
		var b strings.Builder
		for n := r.Intn(5); n >= 0; n-- {
			b.WriteString(alphabet[r.Intn(len(alphabet))])
		}
		return b.String()
	}
	var value func(depth int) any
	value = func(depth int) any {
		switch k := r.Intn(7); {
		case k == 0 && depth < 3:
			m := map[string]any{}
			for n := r.Intn(4); n > 0; n-- {
				m[str()] = value(depth + 1)
			}
			return m
		case k == 1 && depth < 3:
			var l []any
			for n := r.Intn(4); n > 0; n-- {
				l = append(l, value(depth+1))
			}
			return l
		case k == 2:
			return r.Intn(2) == 0
		case k == 3:
			return r.Intn(100000) - 50000
		case k == 4:
			return nil
		}
		return str()
	}
	for i := 0; i < 3000; i++ {
		v := map[string]any{"v": value(0)}
		want, _ := json.Marshal(v)
		out, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		kubelet, err := yaml.YAMLToJSON(out)
		if err != nil || !same(t, kubelet, want) {
			t.Fatalf("wrote %s\nfor %s; the kubelet reads %s (%v)", out, want, kubelet, err)
		}
		ours, err := ToJSON(out)
		if err != nil || !same(t, ours, want) {
			t.Fatalf("wrote %s\nfor %s; read back %s (%v)", out, want, ours, err)
		}
	}
}

// TestWritesAsTheKubeletsLibraryWrites: the layout is sigs.k8s.io/yaml's,
// so a file written before this package existed is rewritten unchanged.
func TestWritesAsTheKubeletsLibraryWrites(t *testing.T) {
	v := map[string]any{
		"apiVersion": "kubelet.config.k8s.io/v1", "kind": "CredentialProviderConfig",
		"providers": []any{map[string]any{
			"name": "gcrcred", "matchImages": []any{"gcr.io", "*.gcr.io", "*.pkg.dev"}, "defaultCacheDuration": "55m0s",
			"apiVersion": "credentialprovider.kubelet.k8s.io/v1", "args": []any{"get-credentials"},
			"env":             []any{map[string]any{"name": "GCRCRED_REQUIRE_SERVICE_ACCOUNT", "value": "true"}, map[string]any{"name": "M", "value": "'c:'+assertion.sub"}},
			"tokenAttributes": map[string]any{"serviceAccountTokenAudience": "//iam.googleapis.com/projects/1/x", "requireServiceAccount": false, "cacheType": "ServiceAccount", "optionalServiceAccountAnnotationKeys": []any{"iam.gke.io/gcp-service-account"}},
		}, map[string]any{"name": "other", "extra": map[string]any{}, "list": []any{}, "n": 1}},
	}
	want, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Marshal(v)
	if err != nil || string(got) != string(want) {
		t.Fatalf("wrote\n%s\nsigs.k8s.io/yaml writes\n%s", got, want)
	}
}

func TestUnmarshalUsesJSONTags(t *testing.T) {
	var cfg struct {
		FeatureGates map[string]bool `json:"featureGates"`
		Policy       string          `json:"imagePullCredentialsVerificationPolicy"`
	}
	if err := Unmarshal([]byte(read[len(read)-3]), &cfg); err != nil || !cfg.FeatureGates["KubeletEnsureSecretPulledImages"] || cfg.Policy != "NeverVerifyPreloadedImages" {
		t.Fatalf("%+v, %v", cfg, err)
	}
}

// TestNeverReadsOtherwise: documents of the corpus, mutated at random
// (a character dropped or added, a line repeated, indented or dedented),
// either are refused or read as the kubelet reads them.
func TestNeverReadsOtherwise(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	chars := []string{" ", "  ", "-", "- ", ":", ": ", "#", "'", "\"", "[", "]", "{", "}", ",", "a", "1", "\n", "&", "*", "!", "|", "?", "\\", "\t"}
	extra := []string{"a:\n  - b: 1\n    c: [x, y,]\n  - d # c\n  -  e\nf: it's\ng: \"x\"  # c\n", "a:b: c\n\"k:\": v\n", "a: 1\r\nb:\r\n- 2\r\n"}
	checked := 0
	for i := 0; i < 20000; i++ {
		doc := []byte(append(read, extra...)[r.Intn(len(read)+len(extra))])
		for n := r.Intn(3) + 1; n > 0 && len(doc) > 0; n-- {
			at := r.Intn(len(doc))
			switch r.Intn(4) {
			case 0:
				doc = append(doc[:at:at], doc[at+1:]...)
			case 1:
				doc = append(doc[:at:at], append([]byte(chars[r.Intn(len(chars))]), doc[at:]...)...)
			case 2:
				lines := strings.Split(string(doc), "\n")
				k := r.Intn(len(lines))
				lines = append(lines[:k+1:k+1], lines[k:]...)
				doc = []byte(strings.Join(lines, "\n"))
			default:
				lines := strings.Split(string(doc), "\n")
				k := r.Intn(len(lines))
				if r.Intn(2) == 0 {
					lines[k] = "  " + lines[k]
				} else {
					lines[k] = strings.TrimPrefix(lines[k], " ")
				}
				doc = []byte(strings.Join(lines, "\n"))
			}
		}
		got, err := ToJSON(doc)
		if err != nil {
			continue
		}
		checked++
		want, kerr := yaml.YAMLToJSON(doc)
		if kerr != nil {
			t.Errorf("%q: read as %s, but the kubelet refuses it: %v", doc, got, kerr)
			continue
		}
		if !same(t, got, want) {
			t.Errorf("%q: read %s, the kubelet reads %s", doc, got, want)
		}
	}
	if checked < 2000 {
		t.Fatalf("only %d mutated documents were read: the test looks at too little", checked)
	}
}

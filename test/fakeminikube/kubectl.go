package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// kubectl is the fake kubectl, enough for the installers' RBAC: `--context
// C apply -f -` (YAML documents on stdin, kept by kind and name) and
// `--context C delete KIND[,KIND] -l KEY=VALUE`. A context exists as the
// real tools make them: a minikube profile's name, kind-NAME for a kind
// cluster. The API server's objects are $FAKE_MINIKUBE_STATE/kubectl/C.json.
func kubectl(args []string) int {
	logCall("kubectl", args)
	words, flags := splitFlags(args)
	context := flags["context"]
	if !contextExists(context) {
		fmt.Fprintf(os.Stderr, "error: context %q does not exist\n", context)
		return 1
	}
	objs := loadObjects(context)
	switch {
	case len(words) == 1 && words[0] == "apply" && (flags["f"] == "-" || flags["filename"] == "-"):
		in, _ := io.ReadAll(os.Stdin)
		for _, doc := range strings.Split(string(in), "\n---\n") {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				fmt.Fprintf(os.Stderr, "error: error parsing STDIN: %v\n", err)
				return 1
			}
			kind, _ := obj["kind"].(string)
			meta, _ := obj["metadata"].(map[string]any)
			name, _ := meta["name"].(string)
			if kind == "" || name == "" {
				fmt.Fprintln(os.Stderr, "error: error validating data: kind or metadata.name not set")
				return 1
			}
			key := kind + "/" + name
			verb := "created"
			if old, ok := objs[key]; ok {
				verb = "configured"
				if reflect.DeepEqual(old, obj) {
					verb = "unchanged"
				}
			}
			objs[key] = obj
			fmt.Printf("%s/%s %s\n", resourceName(obj), name, verb)
		}
	case len(words) == 2 && words[0] == "delete" && flags["l"] != "":
		k, v, _ := strings.Cut(flags["l"], "=")
		kinds := strings.Split(words[1], ",")
		deleted := 0
		for _, key := range sortedKeys(objs) {
			obj := objs[key]
			meta, _ := obj["metadata"].(map[string]any)
			labels, _ := meta["labels"].(map[string]any)
			kind, _ := obj["kind"].(string)
			if labels[k] != v || !slices.Contains(kinds, strings.ToLower(kind)) {
				continue
			}
			delete(objs, key)
			deleted++
			fmt.Printf("%s %q deleted\n", resourceName(obj), meta["name"])
		}
		if deleted == 0 {
			fmt.Fprintln(os.Stderr, "No resources found")
		}
	default:
		fmt.Fprintf(os.Stderr, "fake kubectl does not implement %q\n", strings.Join(args, " "))
		return 1
	}
	return exitOn(saveObjects(context, objs))
}

// contextExists: a minikube profile, or kind-NAME for a kind cluster.
func contextExists(context string) bool {
	if cluster, ok := strings.CutPrefix(context, "kind-"); ok && len(kindNodeNames(cluster)) > 0 {
		return true
	}
	_, err := os.Stat(profileConfigPath(context))
	return context != "" && err == nil
}

// resourceName is kind.group, as kubectl prints it.
func resourceName(obj map[string]any) string {
	kind, _ := obj["kind"].(string)
	apiVersion, _ := obj["apiVersion"].(string)
	group, _, ok := strings.Cut(apiVersion, "/")
	if !ok {
		return strings.ToLower(kind)
	}
	return strings.ToLower(kind) + "." + group
}

func objectsFile(context string) string {
	return filepath.Join(stateDir(), "kubectl", context+".json")
}

func loadObjects(context string) map[string]map[string]any {
	objs := map[string]map[string]any{}
	if b, err := os.ReadFile(objectsFile(context)); err == nil {
		json.Unmarshal(b, &objs)
	}
	return objs
}

func saveObjects(context string, objs map[string]map[string]any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(objs); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(objectsFile(context)), 0o755); err != nil {
		return err
	}
	return os.WriteFile(objectsFile(context), b.Bytes(), 0o644)
}

func sortedKeys(m map[string]map[string]any) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

package kubelet

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubeletconfigv1 "k8s.io/kubelet/config/v1"
	kubeletconfigv1alpha1 "k8s.io/kubelet/config/v1alpha1"
	kubeletconfigv1beta1 "k8s.io/kubelet/config/v1beta1"
	cpv1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1"
	cpv1alpha1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1alpha1"
	cpv1beta1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1beta1"

	"github.com/gcrcred/gcrcred/internal/kubeletapi"
	"github.com/gcrcred/gcrcred/provider"
)

// The product binary mirrors the kubelet's API types instead of importing
// them (start-up time). These tests hold the mirror to the real types: every
// JSON field name, omitempty, and the shape of every value, nested.

var durationTypes = map[reflect.Type]bool{
	reflect.TypeFor[metav1.Duration]():     true,
	reflect.TypeFor[kubeletapi.Duration](): true,
}

// jsonFields flattens t's JSON encoding into "path[,omitempty]" -> value
// shape, following inline embedded structs as encoding/json does.
func jsonFields(t reflect.Type) map[string]string {
	out := map[string]string{}
	walk(t, "", out)
	return out
}

func walk(t reflect.Type, prefix string, out map[string]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			walk(f.Type, prefix, out) // inline, like metav1.TypeMeta `json:""`
			continue
		}
		if name == "" {
			name = f.Name
		}
		key := prefix + name
		if strings.Contains(","+opts+",", ",omitempty,") {
			key += ",omitempty"
		}
		out[key] = shape(f.Type, prefix+name, out)
	}
}

// shape names a value's JSON form; struct fields are recorded under path.
func shape(t reflect.Type, path string, out map[string]string) string {
	if durationTypes[t] {
		return "duration-string"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + shape(t.Elem(), path, out)
	case reflect.Slice:
		return "[]" + shape(t.Elem(), path+"[]", out)
	case reflect.Map:
		return "map[" + t.Key().Kind().String() + "]" + shape(t.Elem(), path+"{}", out)
	case reflect.Struct:
		walk(t, path+".", out)
		return "object"
	}
	return t.Kind().String() // named string types such as PluginCacheKeyType are strings on the wire
}

func diffFields(ours, theirs map[string]string) string {
	var d []string
	for k, v := range theirs {
		if ours[k] != v {
			d = append(d, fmt.Sprintf("kubelet has %s: %s, gcrcred has %q", k, v, ours[k]))
		}
	}
	for k, v := range ours {
		if _, ok := theirs[k]; !ok {
			d = append(d, fmt.Sprintf("gcrcred has %s: %s, the kubelet does not", k, v))
		}
	}
	sort.Strings(d)
	return strings.Join(d, "\n")
}

func TestMirrorResponseMatchesEveryVersion(t *testing.T) {
	ours := jsonFields(reflect.TypeFor[kubeletapi.CredentialProviderResponse]())
	for name, theirs := range map[string]reflect.Type{
		"v1":       reflect.TypeFor[cpv1.CredentialProviderResponse](),
		"v1beta1":  reflect.TypeFor[cpv1beta1.CredentialProviderResponse](),
		"v1alpha1": reflect.TypeFor[cpv1alpha1.CredentialProviderResponse](),
	} {
		if d := diffFields(ours, jsonFields(theirs)); d != "" {
			t.Errorf("CredentialProviderResponse differs from %s:\n%s", name, d)
		}
	}
	if len(ours) < 6 { // kind, apiVersion, cacheKeyType, cacheDuration, auth + its 2 fields
		t.Fatalf("walked too little: %v", ours)
	}
}

func TestMirrorRequestMatchesEveryVersion(t *testing.T) {
	ours := jsonFields(reflect.TypeFor[kubeletapi.CredentialProviderRequest]())
	if d := diffFields(ours, jsonFields(reflect.TypeFor[cpv1.CredentialProviderRequest]())); d != "" {
		t.Errorf("CredentialProviderRequest differs from v1:\n%s", d)
	}
	// The older versions lack only v1's service-account fields.
	older := map[string]string{}
	for k, v := range ours {
		if !strings.HasPrefix(k, "serviceAccount") {
			older[k] = v
		}
	}
	for name, theirs := range map[string]reflect.Type{
		"v1beta1":  reflect.TypeFor[cpv1beta1.CredentialProviderRequest](),
		"v1alpha1": reflect.TypeFor[cpv1alpha1.CredentialProviderRequest](),
	} {
		if d := diffFields(older, jsonFields(theirs)); d != "" {
			t.Errorf("CredentialProviderRequest differs from %s beyond the service-account fields:\n%s", name, d)
		}
	}
}

func TestMirrorConfigMatchesEveryVersion(t *testing.T) {
	ours := jsonFields(reflect.TypeFor[kubeletapi.CredentialProviderConfig]())
	theirs := jsonFields(reflect.TypeFor[kubeletconfigv1.CredentialProviderConfig]())
	if d := diffFields(ours, theirs); d != "" {
		t.Errorf("CredentialProviderConfig differs from kubelet.config.k8s.io/v1:\n%s", d)
	}
	if _, ok := theirs["providers[].defaultCacheDuration"]; !ok {
		t.Fatalf("walk missed nested fields: %v", theirs)
	}
	// The older versions lack only tokenAttributes, which gcrcred writes only for v1.
	older := map[string]string{}
	for k, v := range ours {
		if !strings.HasPrefix(k, "providers[].tokenAttributes") {
			older[k] = v
		}
	}
	for name, theirs := range map[string]reflect.Type{
		"v1beta1":  reflect.TypeFor[kubeletconfigv1beta1.CredentialProviderConfig](),
		"v1alpha1": reflect.TypeFor[kubeletconfigv1alpha1.CredentialProviderConfig](),
	} {
		if d := diffFields(older, jsonFields(theirs)); d != "" {
			t.Errorf("CredentialProviderConfig differs from kubelet.config.k8s.io/%s beyond tokenAttributes:\n%s", name, d)
		}
	}
}

// TestMirrorConstants: the strings gcrcred writes are the kubelet's.
func TestMirrorConstants(t *testing.T) {
	for ours, theirs := range map[string]string{
		kubeletapi.APIVersionV1:                                  cpv1.SchemeGroupVersion.String(),
		kubeletapi.APIVersionV1beta1:                             cpv1beta1.SchemeGroupVersion.String(),
		kubeletapi.APIVersionV1alpha1:                            cpv1alpha1.SchemeGroupVersion.String(),
		kubeletapi.KubeletConfigAPIVersion:                       kubeletconfigv1.SchemeGroupVersion.String(),
		provider.ConfigAPIVersion(kubeletapi.APIVersionV1beta1):  kubeletconfigv1beta1.SchemeGroupVersion.String(),
		provider.ConfigAPIVersion(kubeletapi.APIVersionV1alpha1): kubeletconfigv1alpha1.SchemeGroupVersion.String(),
		kubeletapi.CacheKeyRegistry:                              string(cpv1.RegistryPluginCacheKeyType),
		kubeletapi.CacheKeyImage:                                 string(cpv1.ImagePluginCacheKeyType),
		kubeletapi.CacheKeyGlobal:                                string(cpv1.GlobalPluginCacheKeyType),
	} {
		if ours != theirs {
			t.Errorf("gcrcred says %q where the kubelet says %q", ours, theirs)
		}
	}
}

// TestMirrorCheckCanFail: the comparison notices a renamed field, a lost
// omitempty and a changed nested type.
func TestMirrorCheckCanFail(t *testing.T) {
	type auth struct {
		Username string `json:"user"`
		Password []byte `json:"password"`
	}
	type response struct {
		kubeletapi.TypeMeta `json:""`
		CacheKeyType        string           `json:"cacheKeyType"`
		CacheDuration       *metav1.Duration `json:"cacheDuration"`
		Auth                map[string]auth  `json:"auth,omitempty"`
	}
	d := diffFields(jsonFields(reflect.TypeFor[response]()), jsonFields(reflect.TypeFor[cpv1.CredentialProviderResponse]()))
	for _, want := range []string{"auth{}.username", "auth{}.password", "cacheDuration,omitempty"} {
		if !strings.Contains(d, want) {
			t.Errorf("diff does not mention %s:\n%s", want, d)
		}
	}
}

package provider_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/test/testbin"
)

// The kubelet's plugin runs as root for every pull: a `gcloud` on its PATH,
// logged in, is never run (here it would leave a mark and hand out a
// token). The error says which credentials were looked for, gcloud's
// included.
func TestNodeNeverRunsGcloud(t *testing.T) {
	dir := t.TempDir()
	mark := filepath.Join(dir, "gcloud-ran")
	bin := filepath.Join(dir, "bin")
	conf := filepath.Join(dir, "gcloud-config")
	must(t, os.MkdirAll(bin, 0o755))
	must(t, os.MkdirAll(filepath.Join(conf, "configurations"), 0o700))
	must(t, os.WriteFile(filepath.Join(conf, "active_config"), []byte("default"), 0o600))
	must(t, os.WriteFile(filepath.Join(conf, "configurations", "config_default"), []byte("[core]\naccount = dev@example.com\n"), 0o600))
	script := "#!/bin/sh\necho \"$@\" >> '" + mark + "'\n" +
		`echo '{"credential":{"access_token":"ya29.from-gcloud","token_expiry":"2099-01-01T00:00:00Z"}}'` + "\n"
	must(t, testbin.WriteProgram(filepath.Join(bin, "gcloud"), []byte(script)))

	env := testbin.InEnv(t, "PATH="+bin, "CLOUDSDK_CONFIG="+conf)
	r := getCredentials(t, env, testbin.KubeletRequest("credentialprovider.kubelet.k8s.io/v1", "gcr.io/p/i"))
	if _, err := os.Stat(mark); err == nil {
		b, _ := os.ReadFile(mark)
		t.Errorf("get-credentials ran gcloud (%s)", strings.TrimSpace(string(b)))
	}
	testbin.MustFailForKubelet(t, r, "no credentials for gcr.io")
	for _, want := range []string{"GCRCRED_CREDENTIALS", "/etc/gcrcred/credentials.json", "metadata server", "gcloud CLI (never run on a node"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("the error does not say %q: %s", want, r.Stderr)
		}
	}
}

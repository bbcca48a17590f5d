package provider_test

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gcrcred/gcrcred/internal/kubeletapi"
	"github.com/gcrcred/gcrcred/test/testbin"
)

// BenchmarkGetCredentialsWarm times the whole process the kubelet runs on a
// cache miss of its own: `gcrcred get-credentials` with the token already in
// gcrcred's disk cache (start-up, decode, cache read, encode).
func BenchmarkGetCredentialsWarm(b *testing.B) {
	g := testbin.Google(b)
	key, _, err := g.WriteServiceAccountKey(b.TempDir(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	benchGetCredentials(b, testbin.Env(b, "GCRCRED_CREDENTIALS="+key), testbin.KubeletRequest(kubeletapi.APIVersionV1, "us-docker.pkg.dev/proj/repo/img:tag"))
	if n := g.Count("token"); n != 1 {
		b.Fatalf("%d token requests: the warm path should mint none", n)
	}
}

// benchGetCredentials times whole `gcrcred get-credentials` processes
// answering req from a warm cache (the first run fills it).
func benchGetCredentials(b *testing.B, env []string, req []byte) {
	b.Helper()
	bin := filepath.Join(testbin.Build(b), "gcrcred")
	run := func() {
		cmd := exec.Command(bin, "get-credentials")
		cmd.Env = env
		cmd.Stdin = bytes.NewReader(req)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
	run()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run()
	}
	b.StopTimer()
}

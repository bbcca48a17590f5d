package helper_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/internal/dockerconfig"
	"github.com/gcrcred/gcrcred/internal/registries"
	"github.com/gcrcred/gcrcred/test/fakegoogle"
	"github.com/gcrcred/gcrcred/test/testbin"
)

// TestDoctorRegistryChecksDockerSendsThatHost: a regional Artifact
// Registry host that Docker's config does not name gets no credentials from
// gcrcred (Docker looks hosts up by exact name), so doctor for it exits 1
// with the fix, though a token can be had and the default hosts are set
// up; after `configure-docker --all-regions` it exits 0. A host another
// helper or the credsStore answers is not gcrcred's either.
func TestDoctorRegistryChecksDockerSendsThatHost(t *testing.T) {
	t.Parallel()
	_, key, _ := testbin.GoogleWithKey(t, "puller")
	env := testbin.InEnv(t, "GCRCRED_CREDENTIALS="+key)
	if r := run(t, env, "", "gcrcred", "configure-docker"); r.Code != 0 {
		t.Fatalf("configure-docker: %+v", r)
	}
	const regional = "europe-west1-docker.pkg.dev"
	r := run(t, env, "", "gcrcred", "doctor", regional)
	if r.Code != 1 || !strings.Contains(r.Stdout, "token:       ok") ||
		!strings.Contains(r.Stdout, "no credHelpers entry for "+regional) ||
		!strings.Contains(r.Stdout, "gcrcred configure-docker --registries "+regional) ||
		!strings.Contains(r.Stdout, "--all-regions") {
		t.Errorf("doctor %s with Docker set up for the default hosts only: exit %d\n%s%s", regional, r.Code, r.Stdout, r.Stderr)
	}
	if r := run(t, env, "", "gcrcred", "doctor", "us-docker.pkg.dev"); r.Code != 0 || !strings.Contains(r.Stdout, "sends us-docker.pkg.dev to gcrcred") {
		t.Errorf("doctor us-docker.pkg.dev, a default host: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if r := run(t, env, "", "gcrcred", "configure-docker", "--all-regions"); r.Code != 0 {
		t.Fatalf("configure-docker --all-regions: %+v", r)
	}
	if r := run(t, env, "", "gcrcred", "doctor", regional); r.Code != 0 || strings.Contains(r.Stdout, "fix:") {
		t.Errorf("doctor %s after --all-regions: exit %d\n%s%s", regional, r.Code, r.Stdout, r.Stderr)
	}

	// Another helper's entry, and a credsStore, answer instead of gcrcred.
	config := filepath.Join(envValue(env, "DOCKER_CONFIG"), "config.json")
	must(t, os.WriteFile(config, []byte(`{"credsStore": "desktop", "credHelpers": {"gcr.io": "gcloud"}}`), 0o600))
	for host, want := range map[string]string{"gcr.io": "sends gcr.io to docker-credential-gcloud", "eu.gcr.io": "asks its credsStore, docker-credential-desktop"} {
		r := run(t, env, "", "gcrcred", "doctor", host)
		if r.Code != 1 || !strings.Contains(r.Stdout, want) || !strings.Contains(r.Stdout, "configure-docker --registries "+host) {
			t.Errorf("doctor %s: exit %d, want %q\n%s", host, r.Code, want, r.Stdout)
		}
	}
}

// TestConfigureDockerRefusesHostsItWillNotServe: a host gcrcred does not
// serve is refused (exit 2, nothing written), with the Google host it
// nearly is; in GCRCRED_REGISTRIES it is accepted. --remove still takes
// any host.
func TestConfigureDockerRefusesHostsItWillNotServe(t *testing.T) {
	t.Parallel()
	env := testbin.InEnv(t)
	config := filepath.Join(envValue(env, "DOCKER_CONFIG"), "config.json")
	for _, c := range []struct{ hosts, want string }{
		{"gcr.oi", "gcr.oi is not a registry gcrcred serves (did you mean gcr.io?)"},
		{"gcr.io,europe-west1-docker.pkg.dvs", "did you mean europe-west1-docker.pkg.dev?"},
		{"registry.example.com", "registry.example.com is not a registry gcrcred serves; nothing was changed (a registry of your own must also be in GCRCRED_REGISTRIES)"},
	} {
		r := run(t, env, "", "gcrcred", "configure-docker", "--registries", c.hosts)
		if r.Code != 2 || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("configure-docker --registries %s: exit %d, want %q\n%s%s", c.hosts, r.Code, c.want, r.Stdout, r.Stderr)
		}
		if _, err := os.Stat(config); err == nil {
			t.Fatalf("configure-docker --registries %s wrote %s", c.hosts, config)
		}
	}
	own := testbin.Merge(env, "GCRCRED_REGISTRIES=registry.example.com")
	if r := run(t, own, "", "gcrcred", "configure-docker", "--registries", "registry.example.com"); r.Code != 0 {
		t.Errorf("a host in GCRCRED_REGISTRIES: exit %d\n%s", r.Code, r.Stderr)
	}
	if r := run(t, env, "", "gcrcred", "configure-docker", "--remove", "--registries", "registry.example.com"); r.Code != 0 || !strings.Contains(r.Stdout, "removed credHelpers") {
		t.Errorf("--remove of a host not served: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

// TestConfigureDockerAllRegions: --all-regions writes every location of
// the one list doctor checks against, next to the default hosts.
func TestConfigureDockerAllRegions(t *testing.T) {
	t.Parallel()
	env := testbin.InEnv(t)
	if r := run(t, env, "", "gcrcred", "configure-docker", "--all-regions"); r.Code != 0 {
		t.Fatalf("configure-docker --all-regions: %+v", r)
	}
	helpers, err := dockerconfig.CredHelpers(filepath.Join(envValue(env, "DOCKER_CONFIG"), "config.json"))
	must(t, err)
	want := append(append([]string{}, dockerconfig.DefaultHosts...), registries.ArtifactRegistryHosts()...)
	for _, h := range want {
		if helpers[h] != "gcrcred" {
			t.Errorf("--all-regions did not add %s", h)
		}
	}
	if len(helpers) != len(dedupe(want)) {
		t.Errorf("--all-regions wrote %d entries, want %d", len(helpers), len(dedupe(want)))
	}
	// The default list is Container Registry's hosts and the
	// multi-regions, as internal/registries lists them.
	var multi []string
	for _, m := range registries.MultiRegions {
		multi = append(multi, registries.ArtifactRegistryHost(m))
	}
	if got, want := strings.Join(sorted(dockerconfig.DefaultHosts), ","), strings.Join(sorted(append(append([]string{}, registries.GCRHosts...), multi...)), ","); got != want {
		t.Errorf("dockerconfig.DefaultHosts %s, want %s", got, want)
	}
}

// TestLoginAdviceFollowsWhereTheFileWasFound: a user login Google refuses
// is renewed by `gcloud auth application-default login` only when it is
// gcloud's own file; one named by GCRCRED_CREDENTIALS must be replaced.
func TestLoginAdviceFollowsWhereTheFileWasFound(t *testing.T) {
	t.Parallel()
	g := testbin.Google(t)
	g.Fail("token", fakegoogle.Fault{Status: 400})
	dir := t.TempDir()
	user, _, err := g.WriteAuthorizedUser(dir, "dev")
	must(t, err)

	r := run(t, testbin.InEnv(t, "GCRCRED_CREDENTIALS="+user), "", "gcrcred", "token")
	if r.Code != 1 || strings.Contains(r.Stderr, "run `gcloud auth application-default login`") ||
		!strings.Contains(r.Stderr, "named by GCRCRED_CREDENTIALS") || !strings.Contains(r.Stderr, "unset GCRCRED_CREDENTIALS") {
		t.Errorf("a refused login named by GCRCRED_CREDENTIALS: exit %d\n%s", r.Code, r.Stderr)
	}

	gcloud := t.TempDir()
	data, err := os.ReadFile(user)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(gcloud, "application_default_credentials.json"), data, 0o600))
	r = run(t, testbin.InEnv(t, "CLOUDSDK_CONFIG="+gcloud), "", "gcrcred", "token")
	if r.Code != 1 || !strings.Contains(r.Stderr, "run `gcloud auth application-default login`") {
		t.Errorf("a refused login in gcloud's own file: exit %d\n%s", r.Code, r.Stderr)
	}
}

// TestDoctorFlagsAfterTheRegistry: flags go anywhere on the line, and a
// missing --credentials file is told to check the path, not to pass
// --credentials.
func TestDoctorFlagsAfterTheRegistry(t *testing.T) {
	t.Parallel()
	r := run(t, testbin.InEnv(t), "", "gcrcred", "doctor", "gcr.io", "--credentials", "missing.json")
	if r.Code != 1 || !strings.Contains(r.Stdout, "--credentials: ") || !strings.Contains(r.Stdout, "check the path given to --credentials") ||
		strings.Contains(r.Stdout+r.Stderr, "pass --credentials") || strings.Contains(r.Stderr, "unexpected argument") {
		t.Errorf("doctor gcr.io --credentials missing.json: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

func dedupe(s []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range s {
		m[x] = true
	}
	return m
}

func sorted(s []string) []string {
	out := append([]string{}, s...)
	slices.Sort(out)
	return out
}

package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// workflow is the part of a GitHub Actions workflow the test reads.
type workflow struct {
	On struct {
		Push struct {
			Tags []string `json:"tags"`
		} `json:"push"`
	} `json:"on"`
	Jobs map[string]struct {
		Needs       []string          `json:"needs"`
		Permissions map[string]string `json:"permissions"`
		Outputs     map[string]string `json:"outputs"`
		Uses        string            `json:"uses"`
		With        map[string]any    `json:"with"`
		Steps       []struct {
			ID   string            `json:"id"`
			Uses string            `json:"uses"`
			Run  string            `json:"run"`
			With map[string]any    `json:"with"`
			Env  map[string]string `json:"env"`
		} `json:"steps"`
	} `json:"jobs"`
}

// TestReleaseWorkflowIsCoherent: the release workflow cannot run here, so
// its wiring is checked: it runs on version tags; it installs the tools
// .goreleaser.yaml calls (cosign, syft) and gives goreleaser the tap token
// its formula needs; keyless signing has its OIDC permission; the
// provenance's subjects are the SHA256SUMS of the config's dist; the image
// is built by build/image from the config's linux binaries; and every
// output one job reads from another exists.
func TestReleaseWorkflowIsCoherent(t *testing.T) {
	data, err := os.ReadFile(repoFile(".github/workflows/release.yml"))
	if err != nil {
		t.Fatal(err)
	}
	// YAML 1.1 reads the key `on` as the boolean true; GitHub reads "on".
	var raw map[string]json.RawMessage
	if err := yaml.Unmarshal(data, &raw); err != nil {
		t.Fatalf("release.yml: %v", err)
	}
	if raw["on"] == nil {
		raw["on"] = raw["true"]
	}
	doc, _ := json.Marshal(raw)
	var w workflow
	if err := json.Unmarshal(doc, &w); err != nil {
		t.Fatalf("release.yml: %v", err)
	}
	cfg, err := loadConfig(repoFile(".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(w.On.Push.Tags) == 0 || !strings.HasPrefix(w.On.Push.Tags[0], "v") {
		t.Errorf("the workflow does not run on version tags: %v", w.On.Push.Tags)
	}
	gr, ok := w.Jobs["goreleaser"]
	if !ok {
		t.Fatal("no goreleaser job")
	}
	var uses, runs []string
	ids := map[string]bool{}
	var goreleaserArgs string
	var goreleaserEnv map[string]string
	for _, s := range gr.Steps {
		uses = append(uses, s.Uses)
		runs = append(runs, s.Run)
		ids[s.ID] = true
		if strings.HasPrefix(s.Uses, "goreleaser/goreleaser-action@") {
			goreleaserArgs, _ = s.With["args"].(string)
			goreleaserEnv = s.Env
		}
	}
	all := strings.Join(uses, " ")
	script := strings.Join(runs, "\n")
	for _, want := range []string{"actions/checkout@", "actions/setup-go@", "sigstore/cosign-installer@", "anchore/sbom-action/download-syft@", "goreleaser/goreleaser-action@", "docker/login-action@"} {
		if !strings.Contains(all, want) {
			t.Errorf("the goreleaser job does not use %s", want)
		}
	}
	if goreleaserArgs != "release --clean" {
		t.Errorf("goreleaser runs with %q, want release --clean", goreleaserArgs)
	}
	if goreleaserEnv["HOMEBREW_TAP_GITHUB_TOKEN"] == "" || goreleaserEnv["GITHUB_TOKEN"] == "" {
		t.Errorf("goreleaser lacks GITHUB_TOKEN or the tap token its brews section uses: %v", goreleaserEnv)
	}
	if gr.Permissions["id-token"] != "write" || gr.Permissions["contents"] != "write" || gr.Permissions["packages"] != "write" {
		t.Errorf("the goreleaser job's permissions %v: keyless signing needs id-token, the release contents, the image packages", gr.Permissions)
	}
	for _, want := range []string{cfg.Dist + "/" + checksumsName, cfg.Dist + "/artifacts.json", "go run ./build/image", `.extra.ID == "` + cfg.Builds[0].ID + `"`, "cosign sign --yes"} {
		if !strings.Contains(script, want) {
			t.Errorf("the goreleaser job's scripts do not mention %s", want)
		}
	}
	if !contains(cfg.Builds[0].Goos, "linux") || !contains(cfg.Builds[0].Goarch, "arm64") || !contains(cfg.Builds[0].Goarch, "amd64") {
		t.Errorf("the image is built from build %s, which lacks linux/amd64 or linux/arm64", cfg.Builds[0].ID)
	}
	// Outputs: steps.X in a job's outputs, needs.J.outputs.Y in another's inputs.
	stepRef := regexp.MustCompile(`steps\.([a-z-]+)\.outputs`)
	for name, v := range gr.Outputs {
		for _, m := range stepRef.FindAllStringSubmatch(v, -1) {
			if !ids[m[1]] {
				t.Errorf("output %s reads step %s, which the job does not have", name, m[1])
			}
		}
	}
	needRef := regexp.MustCompile(`needs\.([a-z-]+)\.outputs\.([a-z-]+)`)
	generators := 0
	for name, job := range w.Jobs {
		if strings.Contains(job.Uses, "slsa-framework/slsa-github-generator/") {
			generators++
			if job.Permissions["id-token"] != "write" {
				t.Errorf("job %s makes provenance without id-token: write", name)
			}
		}
		for _, v := range job.With {
			s, _ := v.(string)
			for _, m := range needRef.FindAllStringSubmatch(s, -1) {
				if !contains(job.Needs, m[1]) || w.Jobs[m[1]].Outputs[m[2]] == "" {
					t.Errorf("job %s reads needs.%s.outputs.%s, which it does not need or which is not an output", name, m[1], m[2])
				}
			}
		}
	}
	if generators != 2 {
		t.Errorf("%d SLSA generator jobs, want 2 (the archives and the image)", generators)
	}
}

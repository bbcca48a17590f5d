package helper

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"

	"github.com/gcrcred/gcrcred/internal/atomicfile"
	"github.com/gcrcred/gcrcred/internal/registries"
)

// DefaultDockerRegistries are the hosts configure-docker points at gcrcred.
// Docker asks every credHelpers entry during `docker build`, so the list is
// kept to the common hosts; more come with --registries.
var DefaultDockerRegistries = []string{
	"gcr.io", "us.gcr.io", "eu.gcr.io", "asia.gcr.io", "marketplace.gcr.io",
	"us-docker.pkg.dev", "europe-docker.pkg.dev", "asia-docker.pkg.dev",
}

// HelperName is the credHelpers value: Docker runs docker-credential-<name>.
const HelperName = "gcrcred"

// RunConfigureDocker is `gcrcred configure-docker [--registries R,...] [--remove]`.
func RunConfigureDocker(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("configure-docker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	list := fs.String("registries", "", "comma-separated registry hosts (default: "+fmt.Sprint(DefaultDockerRegistries)+")")
	remove := fs.Bool("remove", false, "remove gcrcred's credHelpers entries instead of adding them")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	hosts := DefaultDockerRegistries
	if *list != "" {
		hosts = nil
		for _, r := range registries.Extra(*list) {
			hosts = append(hosts, registries.Host(r))
		}
	}
	path := DockerConfigPath()
	var changed []string
	var err error
	if *remove {
		changed, err = EditDockerConfig(path, func(h map[string]string) []string { return removeOurs(h, hosts, *list != "") })
	} else {
		changed, err = EditDockerConfig(path, func(h map[string]string) []string { return addOurs(h, hosts) })
	}
	if err != nil {
		fmt.Fprintf(stderr, "gcrcred: configure-docker: %v\n", err)
		return 1
	}
	if len(changed) == 0 {
		fmt.Fprintf(stdout, "%s already up to date\n", path)
	} else {
		verb := "added"
		if *remove {
			verb = "removed"
		}
		fmt.Fprintf(stdout, "%s credHelpers in %s: %v\n", verb, path, changed)
	}
	if !*remove {
		if _, err := exec.LookPath("docker-credential-" + HelperName); err != nil {
			fmt.Fprintf(stderr, "gcrcred: warning: docker-credential-%s is not on PATH; Docker will not find the helper (run `make install` or link it next to gcrcred)\n", HelperName)
		}
	}
	return 0
}

func addOurs(helpers map[string]string, hosts []string) []string {
	var changed []string
	for _, h := range hosts {
		if helpers[h] != HelperName {
			helpers[h] = HelperName
			changed = append(changed, h)
		}
	}
	return changed
}

// removeOurs removes entries pointing at gcrcred: the named hosts, or all of
// them when no list was given. Other helpers' entries are never touched.
func removeOurs(helpers map[string]string, hosts []string, onlyHosts bool) []string {
	var changed []string
	for h, v := range helpers {
		if v != HelperName {
			continue
		}
		if onlyHosts && !contains(hosts, h) {
			continue
		}
		delete(helpers, h)
		changed = append(changed, h)
	}
	sort.Strings(changed)
	return changed
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// DockerConfigPath is $DOCKER_CONFIG/config.json, else ~/.docker/config.json.
func DockerConfigPath() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "config.json")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".docker", "config.json")
}

// EditDockerConfig applies edit to the credHelpers map of the Docker config at
// path and writes the file back only if something changed. The file is read
// as raw JSON so keys we do not know survive untouched; its mode is kept, the
// write is atomic, and a symlinked config is written through the link.
func EditDockerConfig(path string, edit func(credHelpers map[string]string) (changed []string)) ([]string, error) {
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	doc := map[string]json.RawMessage{}
	mode := fs.FileMode(0o600)
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if len(bytes.TrimSpace(data)) > 0 {
			if err := json.Unmarshal(data, &doc); err != nil {
				return nil, fmt.Errorf("%s is not valid JSON; fix or move it and run again: %v", path, err)
			}
		}
		if fi, err := os.Stat(path); err == nil {
			mode = fi.Mode().Perm()
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return nil, err
	}
	helpers := map[string]string{}
	if raw, ok := doc["credHelpers"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &helpers); err != nil {
			return nil, fmt.Errorf("%s: credHelpers is not a map of strings: %v", path, err)
		}
	}
	changed := edit(helpers)
	if len(changed) == 0 {
		return nil, nil
	}
	if len(helpers) == 0 {
		delete(doc, "credHelpers")
	} else {
		raw, _ := json.Marshal(helpers)
		doc["credHelpers"] = raw
	}
	out, err := json.MarshalIndent(doc, "", "\t")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	return changed, atomicfile.WriteFile(path, append(out, '\n'), mode)
}

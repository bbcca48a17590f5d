package helper

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/dockerconfig"
	"github.com/gcrcred/gcrcred/internal/registries"
)

// ConfigureDockerCommand is `gcrcred configure-docker`.
func ConfigureDockerCommand() *cli.Command {
	var (
		list       string
		remove     bool
		allRegions bool
	)
	return &cli.Command{
		Name:    "configure-docker",
		Summary: "point Docker at gcrcred (credHelpers in Docker's config.json)",
		Help: `Points Docker at gcrcred: adds credHelpers entries to $DOCKER_CONFIG/config.json
(default ~/.docker/config.json), keeping everything else in the file, its mode
and its owner. A second run changes nothing. Without --registries it adds
` + strings.Join(dockerconfig.DefaultHosts, ", ") + `;
entries already in the file stay. A host gcrcred does not serve is refused:
hosts beyond gcr.io and *.pkg.dev must be in ` + registries.EnvExtra + `.`,
		Flags: func(fs *cli.FlagSet) {
			fs.StringVar(&list, "registries", "", "the `HOSTS` to add, comma-separated, instead of the default list")
			fs.BoolVar(&remove, "remove", false, "remove gcrcred's entries instead: those of --registries, or without it every entry that names gcrcred")
			fs.BoolVar(&allRegions, "all-regions", false, "also add every Artifact Registry location's host (LOCATION-docker.pkg.dev), for regional repositories")
		},
		Run: func(c *cli.Call) int { return configureDocker(c, list, remove, allRegions) },
	}
}

func configureDocker(c *cli.Call, list string, remove, allRegions bool) int {
	stdout, stderr := c.Stdout, c.Stderr
	hosts := dockerconfig.DefaultHosts
	if list != "" {
		hosts = nil
		for _, r := range strings.Split(list, ",") {
			if r = strings.TrimSpace(r); r == "" {
				continue
			}
			h := registries.Host(r)
			if h == "" {
				return c.UsageError("%q is not a registry host: Docker's credHelpers name hosts such as europe-west1-docker.pkg.dev", r)
			}
			hosts = append(hosts, h)
		}
	}
	if allRegions {
		for _, h := range registries.ArtifactRegistryHosts() {
			if !slices.Contains(hosts, h) {
				hosts = append(hosts, h)
			}
		}
	}
	served, err := registries.FromList(c.Settings.Registries)
	if err != nil {
		fmt.Fprintf(stderr, "gcrcred: ignoring part of %s: %s\n", registries.EnvExtra, err)
	}
	// Docker would send a host gcrcred does not serve to it, and get
	// nothing: refuse it before the file is touched (removing stays
	// possible, for an entry written by an older gcrcred).
	if !remove {
		var refused []string
		for _, h := range hosts {
			if !served.Serves(h) {
				refused = append(refused, fmt.Sprintf("%s is not a registry gcrcred serves%s", h, hostSuggestion(h)))
			}
		}
		if len(refused) > 0 {
			return c.UsageError("%s; nothing was changed (a registry of your own must also be in %s)", strings.Join(refused, "; "), registries.EnvExtra)
		}
	}
	path := c.Settings.DockerConfig
	var changed []string
	if remove {
		changed, err = dockerconfig.Edit(path, func(h map[string]string) []string { return removeOurs(h, hosts, list != "" || allRegions) })
	} else {
		changed, err = dockerconfig.Edit(path, func(h map[string]string) []string { return addOurs(h, hosts) })
	}
	if err != nil {
		return c.Fail(err)
	}
	switch {
	case len(changed) == 0:
		fmt.Fprintf(stdout, "%s already up to date\n", path)
	case remove:
		fmt.Fprintf(stdout, "removed credHelpers in %s: %s\n", path, strings.Join(changed, ", "))
	default:
		fmt.Fprintf(stdout, "added credHelpers in %s: %s\n", path, strings.Join(changed, ", "))
	}
	if remove {
		return 0
	}
	for _, h := range hosts {
		if loc, ok := registries.ArtifactRegistryLocation(h); ok && !registries.IsKnownLocation(loc) {
			fmt.Fprintf(stderr, "gcrcred: warning: %s is not an Artifact Registry location gcrcred knows%s\n", loc, hostSuggestion(h))
		}
	}
	if c.Settings.LookPath("docker-credential-"+dockerconfig.HelperName) == "" {
		fmt.Fprintf(stderr, "gcrcred: warning: docker-credential-%s is not on PATH, so Docker will not find the helper: run `make install` or link it next to gcrcred\n", dockerconfig.HelperName)
	}
	return 0
}

// hostSuggestion is " (did you mean HOST?)" for the Google registry host
// nearest to a mistyped one, "" when none is near.
func hostSuggestion(h string) string {
	if s := cli.Nearest(h, registries.KnownHosts()); s != "" && s != h {
		return " (did you mean " + s + "?)"
	}
	return ""
}

func addOurs(helpers map[string]string, hosts []string) []string {
	var changed []string
	for _, h := range hosts {
		if helpers[h] != dockerconfig.HelperName {
			helpers[h] = dockerconfig.HelperName
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
		if v != dockerconfig.HelperName || onlyHosts && !slices.Contains(hosts, h) {
			continue
		}
		delete(helpers, h)
		changed = append(changed, h)
	}
	sort.Strings(changed)
	return changed
}

package helper

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/dockerconfig"
	"github.com/gcrcred/gcrcred/internal/registries"
)

var configureHelp = `Usage: gcrcred configure-docker [--registries HOST,...] [--remove]

Points Docker at gcrcred: adds credHelpers entries to $DOCKER_CONFIG/config.json
(default ~/.docker/config.json), keeping everything else in the file, its mode
and its owner. A second run changes nothing.

Flags:
  --registries HOST,...   the hosts to add, instead of the default list
                          (` + strings.Join(dockerconfig.DefaultHosts, ", ") + `);
                          entries already in the file stay, on a new file as on an
                          old one. Hosts beyond gcr.io and *.pkg.dev must also be in
                          ` + registries.EnvExtra + ` for gcrcred to answer for them.
  --remove                remove gcrcred's entries instead: those of --registries,
                          or without it every entry that names gcrcred
`

// RunConfigureDocker is `gcrcred configure-docker [--registries H,...] [--remove]`.
func RunConfigureDocker(args []string, stdout, stderr io.Writer) int {
	c := cli.New("gcrcred configure-docker", configureHelp, 0)
	list := c.Flags.String("registries", "", "")
	remove := c.Flags.Bool("remove", false, "")
	if ok, code := c.Parse(args, stdout, stderr); !ok {
		return code
	}
	hosts := dockerconfig.DefaultHosts
	if *list != "" {
		hosts = nil
		for _, r := range strings.Split(*list, ",") {
			if r = strings.TrimSpace(r); r == "" {
				continue
			}
			h := registries.Host(r)
			if h == "" {
				return c.UsageError(stderr, "%q is not a registry host: Docker's credHelpers name hosts such as europe-west1-docker.pkg.dev", r)
			}
			hosts = append(hosts, h)
		}
	}
	served, err := registries.FromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "gcrcred: ignoring part of %s: %s\n", registries.EnvExtra, err)
	}
	path := dockerconfig.Path()
	var changed []string
	if *remove {
		changed, err = dockerconfig.Edit(path, func(h map[string]string) []string { return removeOurs(h, hosts, *list != "") })
	} else {
		changed, err = dockerconfig.Edit(path, func(h map[string]string) []string { return addOurs(h, hosts) })
	}
	if err != nil {
		return cli.Fail(stderr, c.Name, err)
	}
	switch {
	case len(changed) == 0:
		fmt.Fprintf(stdout, "%s already up to date\n", path)
	case *remove:
		fmt.Fprintf(stdout, "removed credHelpers in %s: %v\n", path, changed)
	default:
		fmt.Fprintf(stdout, "added credHelpers in %s: %v\n", path, changed)
	}
	if *remove {
		return 0
	}
	for _, h := range hosts {
		if !served.Serves(h) {
			fmt.Fprintf(stderr, "gcrcred: warning: %s is not a registry gcrcred serves, so Docker gets no credentials for it: add it to %s\n", h, registries.EnvExtra)
		}
	}
	if _, err := exec.LookPath("docker-credential-" + dockerconfig.HelperName); err != nil {
		fmt.Fprintf(stderr, "gcrcred: warning: docker-credential-%s is not on PATH, so Docker will not find the helper: run `make install` or link it next to gcrcred\n", dockerconfig.HelperName)
	}
	return 0
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

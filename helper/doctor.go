package helper

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/auth"
	"github.com/gcrcred/gcrcred/internal/cache"
	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/credfile"
	"github.com/gcrcred/gcrcred/internal/dockerconfig"
	"github.com/gcrcred/gcrcred/internal/registries"
	"github.com/gcrcred/gcrcred/internal/settings"
)

// DoctorCommand is `gcrcred doctor [--credentials F] [REGISTRY]`.
func DoctorCommand() *cli.Command {
	var creds string
	return &cli.Command{
		Name:     "doctor",
		Args:     "[REGISTRY]",
		MaxArgs:  1,
		Complete: dockerconfig.DefaultHosts,
		Summary:  "say which credentials are used, for which account, and what is wrong if anything is",
		Help: `Says which credentials gcrcred uses (for REGISTRY, if given: a key kept by
` + "`docker login`" + ` comes first), for which account, the cached token, whether a
token can be had now, and whether Docker is pointed at gcrcred, with the fix
for whatever is wrong. With REGISTRY it checks that Docker's config sends
that very host to gcrcred (Docker looks a host up by its exact name: a
regional Artifact Registry host such as europe-west1-docker.pkg.dev needs
an entry of its own). It never prints a token. Exit 0 only if a token could
be had and, with REGISTRY, Docker would ask gcrcred for it.`,
		Flags: func(fs *cli.FlagSet) { credentialsFlag(fs, &creds) },
		Run:   func(c *cli.Call) int { return doctor(c, creds) },
	}
}

func doctor(c *cli.Call, creds string) int {
	say := func(k, v string) { fmt.Fprintf(c.Stdout, "%-12s %s\n", k+":", v) }
	s := c.Settings
	s.CredentialsFlag = creds
	h := New(s, c.Stderr)
	host, err := h.registryArg(c.Arg(0))
	if err != nil {
		return c.Fail(err)
	}
	say("logins", h.describeLogins(host))
	ok := h.describeCredentials(host, say)
	wiring, fix, wired := dockerWiring(s, host)
	say("docker", wiring)
	if fix != "" {
		say("fix", fix)
	}
	if ok && wired {
		return 0
	}
	return 1
}

// describeCredentials says where host's credentials come from and whether
// a token can be had, with the fix chosen by what failed and what named
// the file; false if no token can be had.
func (h *Helper) describeCredentials(host string, say func(k, v string)) bool {
	src, err := h.source(host)
	if err != nil {
		say("credentials", "NONE")
		say("problem", err.Error())
		var named *credfile.SourceError
		switch {
		case errors.As(err, &named):
			say("fix", named.Fix())
		case !errors.Is(err, auth.ErrNoCredentials):
			say("fix", "repair or replace the file named above")
		}
		return false
	}
	say("source", src.Origin)
	say("type", src.Kind)
	if src.Account != "" {
		say("account", src.Account)
	}
	say("scopes", strings.Join(src.Scopes, " "))
	cacheFile := cache.Path(src.CacheDir(), src.CacheKey())
	if tok, ok := src.Cached(); ok {
		say("cache", fmt.Sprintf("%s, token valid for %s", cacheFile, time.Until(tok.Expiry).Round(time.Second)))
	} else {
		say("cache", cacheFile+", no valid token cached")
	}
	ok := true
	if h.JSONKey {
		if _, err := src.KeyJSON(); err != nil {
			say("json-key", "PROBLEM: "+err.Error())
			ok = false
		} else {
			say("json-key", "on: Docker gets _json_key and the key file")
		}
	}
	tok, err := src.Token(context.Background())
	if err != nil {
		say("token", "FAILED")
		say("problem", err.Error())
		return false
	}
	say("token", fmt.Sprintf("ok, expires %s (in %s)", tok.Expiry.Local().Format(time.RFC3339), time.Until(tok.Expiry).Round(time.Second)))
	return ok
}

// describeLogins says which keys `docker login -u _json_key` kept and
// whether one decides the credentials for host.
func (h *Helper) describeLogins(host string) string {
	hosts, err := h.Logins.Hosts()
	if err != nil {
		return fmt.Sprintf("cannot read %s: %v", h.Logins.Dir, err)
	}
	if len(hosts) == 0 {
		return "none kept by `docker login -u _json_key`"
	}
	msg := fmt.Sprintf("keys kept by `docker login` for %s (in %s; `docker logout HOST` forgets one)", strings.Join(hosts, ", "), h.Logins.Dir)
	switch {
	case host == "":
		msg += "; name a registry to see which credentials it gets"
	case h.Logins.Key(host) != nil:
		msg += "; " + host + " uses its kept key"
	default:
		msg += "; " + host + " has none, it uses the credential order"
	}
	return msg
}

// dockerWiring describes whether Docker will call gcrcred, for host if
// given (then wired is false unless Docker's config sends that host to
// gcrcred and Docker can find the helper), with the fix if not.
func dockerWiring(s settings.Settings, host string) (wiring, fix string, wired bool) {
	path := s.DockerConfig
	found := s.LookPath("docker-credential-"+dockerconfig.HelperName) != ""
	const notOnPath = "run `make install`, or link docker-credential-gcrcred to gcrcred in a directory on PATH"
	if host == "" {
		return allWiring(path, found)
	}
	route, err := dockerconfig.RouteFor(path, host)
	configure := "run `gcrcred configure-docker --registries " + host + "`"
	if _, regional := registries.ArtifactRegistryLocation(host); regional {
		configure += ", or `gcrcred configure-docker --all-regions` for every Artifact Registry location"
	}
	switch {
	case err != nil:
		return "cannot read " + path + ": " + err.Error(), "repair " + path + " or point DOCKER_CONFIG at another directory", false
	case route.Helper == dockerconfig.HelperName && !found:
		return fmt.Sprintf("%s sends %s to gcrcred, but docker-credential-gcrcred is not on PATH", path, host), notOnPath, false
	case route.Helper == dockerconfig.HelperName:
		return fmt.Sprintf("%s sends %s to gcrcred", path, host), "", true
	case route.By == "credHelpers":
		return fmt.Sprintf("%s sends %s to docker-credential-%s, not to gcrcred", path, host, route.Helper), configure + " (it points that entry at gcrcred)", false
	case route.By == "credsStore":
		return fmt.Sprintf("%s has no credHelpers entry for %s, so Docker asks its credsStore, docker-credential-%s, not gcrcred", path, host, route.Helper), configure, false
	}
	return fmt.Sprintf("%s has no credHelpers entry for %s, so Docker sends no credentials for it (`docker pull` gets `unauthorized` for a private image)", path, host), configure, false
}

// allWiring is dockerWiring without a host: how many hosts point at
// gcrcred. It does not fail doctor: Docker may not be used here at all.
func allWiring(path string, onPath bool) (wiring, fix string, wired bool) {
	helpers, err := dockerconfig.CredHelpers(path)
	if err != nil {
		return "cannot read " + path + ": " + err.Error(), "", true
	}
	var ours int
	for _, v := range helpers {
		if v == dockerconfig.HelperName {
			ours++
		}
	}
	switch {
	case ours == 0:
		return path + " has no credHelpers for gcrcred", "run `gcrcred configure-docker` if Docker should use gcrcred", true
	case !onPath:
		return fmt.Sprintf("%d registries in %s point at gcrcred, but docker-credential-gcrcred is not on PATH", ours, path), "run `make install`, or link docker-credential-gcrcred to gcrcred in a directory on PATH", true
	}
	return fmt.Sprintf("%d registries in %s use gcrcred; `gcrcred doctor REGISTRY` checks one", ours, path), "", true
}

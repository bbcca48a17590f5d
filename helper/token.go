package helper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/auth"
	"github.com/gcrcred/gcrcred/internal/cache"
	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/dockerconfig"
	"github.com/gcrcred/gcrcred/internal/registries"
)

const tokenHelp = `Usage: gcrcred token [--credentials FILE] [REGISTRY]

Prints an access token, as ` + "`gcloud auth print-access-token`" + ` does, from the
same credentials and cache Docker and the kubelet use. With REGISTRY, a key
kept by ` + "`docker login -u _json_key`" + ` for it comes first.

Flags:
  --credentials FILE   credentials file (default: the credential order)
`

// RunToken is `gcrcred token [--credentials F] [REGISTRY]`.
func RunToken(args []string, stdout, stderr io.Writer) int {
	c := cli.New("gcrcred token", tokenHelp, 1)
	creds := c.Flags.String("credentials", "", "")
	if ok, code := c.Parse(args, stdout, stderr); !ok {
		return code
	}
	h := FromEnv(stderr)
	h.Auth.CredentialsFile = *creds
	host, err := h.registryArg(c.Flags.Arg(0))
	if err != nil {
		return cli.Fail(stderr, c.Name, err)
	}
	src, err := h.source(host)
	if err != nil {
		return cli.Fail(stderr, c.Name, err)
	}
	tok, err := src.Token(context.Background())
	if err != nil {
		return cli.Fail(stderr, c.Name, err)
	}
	fmt.Fprintln(stdout, tok.AccessToken)
	return 0
}

// registryArg checks an optional REGISTRY argument: "" or a served host.
func (h *Helper) registryArg(arg string) (string, error) {
	if arg == "" {
		return "", nil
	}
	if !h.Registries.Serves(arg) {
		return "", fmt.Errorf("%q is not a Google registry gcrcred serves (add it to %s to serve it)", arg, registries.EnvExtra)
	}
	return registries.Host(arg), nil
}

const doctorHelp = `Usage: gcrcred doctor [--credentials FILE] [REGISTRY]

Says which credentials gcrcred uses (for REGISTRY, if given: a key kept by
` + "`docker login`" + ` comes first), for which account, the cached token, whether a
token can be had now, and whether Docker is pointed at gcrcred, with the fix
for whatever is wrong. It never prints a token. Exit 0 only if a token could
be had.

Flags:
  --credentials FILE   credentials file (default: the credential order)
`

// RunDoctor is `gcrcred doctor [--credentials F] [REGISTRY]`.
func RunDoctor(args []string, stdout, stderr io.Writer) int {
	c := cli.New("gcrcred doctor", doctorHelp, 1)
	creds := c.Flags.String("credentials", "", "")
	if ok, code := c.Parse(args, stdout, stderr); !ok {
		return code
	}
	say := func(k, v string) { fmt.Fprintf(stdout, "%-12s %s\n", k+":", v) }
	h := FromEnv(stderr)
	h.Auth.CredentialsFile = *creds
	host, err := h.registryArg(c.Flags.Arg(0))
	if err != nil {
		return cli.Fail(stderr, c.Name, err)
	}
	say("logins", h.describeLogins(host))
	src, err := h.source(host)
	if err != nil {
		say("credentials", "NONE")
		say("problem", err.Error())
		if !errors.Is(err, auth.ErrNoCredentials) {
			say("fix", "repair or replace the file named above")
		}
		return 1
	}
	say("source", src.Origin)
	say("type", src.Kind)
	if src.Account != "" {
		say("account", src.Account)
	}
	say("scopes", fmt.Sprint(src.Scopes))
	cacheFile := cache.Path(src.CacheDir(), src.CacheKey())
	if tok, ok := src.Cached(); ok {
		say("cache", fmt.Sprintf("%s (token valid for %s)", cacheFile, time.Until(tok.Expiry).Round(time.Second)))
	} else {
		say("cache", cacheFile+" (no valid token cached)")
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
		ok = false
	} else {
		say("token", fmt.Sprintf("ok, expires %s (in %s)", tok.Expiry.Local().Format(time.RFC3339), time.Until(tok.Expiry).Round(time.Second)))
	}
	say("docker", dockerWiring())
	if ok {
		return 0
	}
	return 1
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

// dockerWiring describes whether Docker will call us.
func dockerWiring() string {
	path := dockerconfig.Path()
	helpers, err := dockerconfig.CredHelpers(path)
	if err != nil {
		return "cannot read " + path + ": " + err.Error()
	}
	var ours int
	for _, v := range helpers {
		if v == dockerconfig.HelperName {
			ours++
		}
	}
	if ours == 0 {
		return path + " has no credHelpers for gcrcred: run `gcrcred configure-docker`"
	}
	if _, err := exec.LookPath("docker-credential-" + dockerconfig.HelperName); err != nil {
		return fmt.Sprintf("%d registries point at gcrcred, but docker-credential-gcrcred is not on PATH: run `make install` or link it next to gcrcred", ours)
	}
	return fmt.Sprintf("%d registries in %s use gcrcred", ours, path)
}

package helper

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/gcrcred/gcrcred/internal/auth"
	"github.com/gcrcred/gcrcred/internal/registries"
	"github.com/gcrcred/gcrcred/internal/tokencache"
)

// RunToken is `gcrcred token [--credentials F] [REGISTRY]`: an access token on
// stdout, like `gcloud auth print-access-token`.
func RunToken(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	creds := fs.String("credentials", "", "credentials file (default: the credential order)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	h := FromEnv(stderr)
	h.Auth.CredentialsFile = *creds
	host := ""
	if fs.NArg() > 0 {
		host = registries.Host(fs.Arg(0))
		if !h.Registries.Serves(host) {
			fmt.Fprintf(stderr, "gcrcred: %s is not a Google registry (add it to GCRCRED_REGISTRIES to serve it)\n", host)
			return 1
		}
	}
	src, err := h.source(host)
	if err != nil {
		fmt.Fprintf(stderr, "gcrcred: %v\n", err)
		return 1
	}
	tok, err := src.Token(context.Background())
	if err != nil {
		fmt.Fprintf(stderr, "gcrcred: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, tok.AccessToken)
	return 0
}

// RunDoctor is `gcrcred doctor`: which credentials, which account, the
// token's state and the Docker wiring, with the fix for whatever is wrong.
// It never prints a token. Exit 0 only if a token could be had.
func RunDoctor(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	creds := fs.String("credentials", "", "credentials file (default: the credential order)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	say := func(k, v string) { fmt.Fprintf(stdout, "%-12s %s\n", k+":", v) }
	h := FromEnv(stderr)
	h.Auth.CredentialsFile = *creds
	src, err := h.source("")
	if err != nil {
		say("credentials", "NONE")
		fmt.Fprintf(stdout, "problem:     %v\n", err)
		if !errors.Is(err, auth.ErrNoCredentials) {
			fmt.Fprintln(stdout, "fix:         repair or replace the file named above")
		}
		return 1
	}
	say("source", src.Origin)
	say("type", src.Kind)
	if src.Account != "" {
		say("account", src.Account)
	}
	say("scopes", fmt.Sprint(src.Scopes))
	cacheFile := tokencache.Path(src.CacheDir(), src.CacheKey())
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
		fmt.Fprintf(stdout, "problem:     %v\n", err)
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

// dockerWiring describes whether Docker will call us.
func dockerWiring() string {
	path := DockerConfigPath()
	var ours []string
	_, err := EditDockerConfig(path, func(h map[string]string) []string {
		for host, v := range h {
			if v == HelperName {
				ours = append(ours, host)
			}
		}
		return nil // read only
	})
	if err != nil {
		return "cannot read " + path + ": " + err.Error()
	}
	if len(ours) == 0 {
		return path + " has no credHelpers for gcrcred: run `gcrcred configure-docker`"
	}
	if _, err := exec.LookPath("docker-credential-" + HelperName); err != nil {
		return fmt.Sprintf("%d registries point at gcrcred, but docker-credential-gcrcred is not on PATH (%s)", len(ours), os.Getenv("PATH"))
	}
	return fmt.Sprintf("%d registries in %s use gcrcred", len(ours), path)
}

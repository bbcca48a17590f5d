package helper

import (
	"context"
	"fmt"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/dockerconfig"
	"github.com/gcrcred/gcrcred/internal/registries"
)

// TokenCommand is `gcrcred token [--credentials F] [REGISTRY]`.
func TokenCommand() *cli.Command {
	var creds string
	return &cli.Command{
		Name:     "token",
		Args:     "[REGISTRY]",
		MaxArgs:  1,
		Complete: dockerconfig.DefaultHosts,
		Summary:  "print an access token, like `gcloud auth print-access-token`",
		Help: `Prints an access token, as ` + "`gcloud auth print-access-token`" + ` does, from the
same credentials and cache Docker and the kubelet use. With REGISTRY, a key
kept by ` + "`docker login -u _json_key`" + ` for it comes first.`,
		Flags: func(fs *cli.FlagSet) { credentialsFlag(fs, &creds) },
		Run: func(c *cli.Call) int {
			s := c.Settings
			s.CredentialsFlag = creds
			h := New(s, c.Stderr)
			host, err := h.registryArg(c.Arg(0))
			if err != nil {
				return c.Fail(err)
			}
			src, err := h.source(host)
			if err != nil {
				return c.Fail(err)
			}
			tok, err := src.Token(context.Background())
			if err != nil {
				return c.Fail(err)
			}
			fmt.Fprintln(c.Stdout, tok.AccessToken)
			return 0
		},
	}
}

// credentialsFlag is --credentials, for token and doctor.
func credentialsFlag(fs *cli.FlagSet, creds *string) {
	fs.StringVar(creds, "credentials", "", "credentials `FILE` (default: GCRCRED_CREDENTIALS, then the rest of the credential order)")
}

// registryArg checks an optional REGISTRY argument: "" or a served host.
func (h *Helper) registryArg(arg string) (string, error) {
	if arg == "" {
		return "", nil
	}
	if !h.Registries.Serves(arg) {
		return "", fmt.Errorf("%q is not a Google registry gcrcred serves%s (a registry of your own must be in %s to be served)", arg, hostSuggestion(registries.Host(arg)), registries.EnvExtra)
	}
	return registries.Host(arg), nil
}

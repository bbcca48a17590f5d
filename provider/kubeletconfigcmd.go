package provider

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gcrcred/gcrcred/internal/registries"
)

const kubeletConfigUsage = `usage: gcrcred kubelet-config [flags] > ` + DefaultConfigPath + `

Prints a kubelet CredentialProviderConfig that runs gcrcred as the image
credential provider for gcr.io and Artifact Registry. Its own apiVersion
follows --api-version: kubelet.config.k8s.io/v1, v1beta1 or v1alpha1.

Flags:
  --api-version V              exec API: v1 (default; Kubernetes 1.26+), v1beta1 (1.24+), v1alpha1 (1.20+)
  --credentials FILE           credentials file on the node (absolute), passed as GCRCRED_CREDENTIALS
  --cache-dir DIR              token cache on the node (absolute), passed as GCRCRED_CACHE_DIR
  --registries A,B             extra registry patterns (default: $GCRCRED_REGISTRIES)
  --default-cache-duration D   defaultCacheDuration (default 55m)
  --bin-dir DIR                where the binary is installed as "gcrcred" (absolute): prints the
                               two kubelet flags to stderr
  --config-path FILE           where this config will be saved, for the printed flags
                               (default ` + DefaultConfigPath + `)
  --print-flags                print only the kubelet flags, to stdout, instead of the config
`

// RunKubeletConfig is `gcrcred kubelet-config`.
func RunKubeletConfig(args []string, stdout, stderr io.Writer) int {
	var (
		o          ConfigOptions
		regs       optionalString
		binDir     string
		configPath string
		printFlags bool
	)
	fs := flag.NewFlagSet("kubelet-config", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.APIVersion, "api-version", "v1", "")
	fs.StringVar(&o.CredentialsFile, "credentials", "", "")
	fs.StringVar(&o.CacheDir, "cache-dir", "", "")
	fs.Var(&regs, "registries", "")
	fs.DurationVar(&o.DefaultCacheDuration, "default-cache-duration", DefaultCacheDuration, "")
	fs.StringVar(&binDir, "bin-dir", "", "")
	fs.StringVar(&configPath, "config-path", DefaultConfigPath, "")
	fs.BoolVar(&printFlags, "print-flags", false, "")

	usageError := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "gcrcred kubelet-config: "+format+"\n\n%s", append(a, kubeletConfigUsage)...)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, kubeletConfigUsage)
			return 0
		}
		return usageError("%v", err)
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	if o.DefaultCacheDuration == 0 {
		return usageError("--default-cache-duration 0 is not allowed: it would make the kubelet run the plugin for every json-key pull")
	}
	if regs.set {
		o.Registries = registries.Extra(regs.value)
	} else {
		o.Registries = registries.Extra(os.Getenv(registries.EnvExtra))
	}
	if printFlags && binDir == "" {
		return usageError("--print-flags needs --bin-dir")
	}
	for _, p := range []struct{ flag, path string }{{"--bin-dir", binDir}, {"--config-path", configPath}} {
		if p.path != "" && !filepath.IsAbs(p.path) {
			return usageError("%s %q must be an absolute path on the node", p.flag, p.path)
		}
	}

	cfg, err := KubeletConfig(o)
	if err != nil {
		return usageError("%v", err)
	}
	flags := strings.Join(KubeletFlags(configPath, binDir), " ")
	if printFlags {
		fmt.Fprintln(stdout, flags)
		return 0
	}
	if _, err := stdout.Write(cfg); err != nil {
		fmt.Fprintf(stderr, "gcrcred kubelet-config: writing the config: %v\n", err)
		return 1
	}
	if binDir != "" {
		fmt.Fprintf(stderr, "gcrcred: save this config as %s, install the binary as %s, and start the kubelet with:\n  %s\n",
			configPath, filepath.Join(binDir, ProviderName), flags)
	}
	return 0
}

// optionalString is a string flag that knows whether it was given, so
// `--registries ""` can clear GCRCRED_REGISTRIES.
type optionalString struct {
	value string
	set   bool
}

func (s *optionalString) String() string     { return s.value }
func (s *optionalString) Set(v string) error { s.value, s.set = v, true; return nil }

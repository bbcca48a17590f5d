package provider

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/endpoint"
	"github.com/gcrcred/gcrcred/internal/kubeletapi"
	"github.com/gcrcred/gcrcred/internal/podidentity"
	"github.com/gcrcred/gcrcred/internal/registries"
	"github.com/gcrcred/gcrcred/internal/smallfile"
)

// KubeletConfigCommand is `gcrcred kubelet-config`.
func KubeletConfigCommand() *cli.Command {
	var (
		o          ConfigOptions
		regs       cli.OptionalString
		binDir     string
		configPath string
		printFlags bool
	)
	return &cli.Command{
		Name:    "kubelet-config",
		Summary: "print a kubelet CredentialProviderConfig that runs gcrcred",
		Help: `Prints a kubelet CredentialProviderConfig that runs gcrcred as the image
credential provider for gcr.io and Artifact Registry; save it as
` + DefaultConfigPath + `. Its own apiVersion follows --api-version:
kubelet.config.k8s.io/v1, v1beta1 or v1alpha1.`,
		Flags: func(fs *cli.FlagSet) {
			fs.StringVar(&o.APIVersion, "api-version", "v1", "exec API `VERSION`: v1 (default; Kubernetes 1.26+), v1beta1 (1.24+), v1alpha1 (1.20+)")
			fs.StringVar(&o.CredentialsFile, "credentials", "", "credentials `FILE` on the node (absolute), passed as GCRCRED_CREDENTIALS")
			fs.StringVar(&o.CacheDir, "cache-dir", "", "token cache `DIR` on the node (absolute), passed as GCRCRED_CACHE_DIR")
			fs.Var(&regs, "registries", "extra registry `PATTERNS`, comma-separated (default: $GCRCRED_REGISTRIES)")
			fs.DurationVar(&o.DefaultCacheDuration, "default-cache-duration", DefaultCacheDuration, "the config's defaultCacheDuration, a `DURATION` (default 55m)")
			fs.StringVar(&binDir, "bin-dir", "", "`DIR` where the binary is installed as \"gcrcred\" (absolute): prints the two kubelet flags to stderr")
			fs.StringVar(&configPath, "config-path", DefaultConfigPath, "`FILE` this config will be saved as, for the printed flags")
			fs.BoolVar(&printFlags, "print-flags", false, "print only the kubelet flags, to stdout, instead of the config")
			fs.Group(`Per-pod identity (kubelet 1.35+, or 1.34 with the KubeletEnsureSecretPulledImages
feature gate; --api-version v1): pods pull as their own Google identity, from their
service-account token; `+"`gcrcred workload-identity setup-help`"+` shows the Google side.`, func() {
				fs.StringVar(&o.ServiceAccountAudience, "service-account-audience", "", "the `AUDIENCE` of the tokens the kubelet asks for (the API server must let nodes request it: RBAC verb request-serviceaccounts-token-audience on resource AUDIENCE)")
				fs.StringVar(&o.WorkloadIdentityFile, "workload-identity", "", "workload identity federation credential configuration `FILE` on the node (absolute; checked here), passed as GCRCRED_WORKLOAD_IDENTITY")
				fs.StringVar(&o.PodIdentityMode, "pod-identity", "", "per-pod identity `MODE`: annotated (the default: a service account annotated iam.gke.io/gcp-service-account=GSA pulls as GSA, one annotated iam.gke.io/enable-wi-image-pull=true as its own principal, any other with the node's credentials) or all (every one as itself)")
				fs.StringVar(&o.SubjectMapping, "subject-mapping", "", "the pool provider's google.subject mapping, an `EXPRESSION` (default assertion.sub), to refuse subjects over Google's 127 bytes")
				fs.BoolVar(&o.RequireServiceAccount, "require-service-account", false, "never use the node's credentials: pods without a service account, or whose account would get them, get none")
			})
		},
		Run: func(c *cli.Call) int {
			return kubeletConfig(c, o, regs, binDir, configPath, printFlags)
		},
	}
}

func kubeletConfig(c *cli.Call, o ConfigOptions, regs cli.OptionalString, binDir, configPath string, printFlags bool) int {
	stdout, stderr := c.Stdout, c.Stderr
	o.TestLoopbackEndpoints = endpoint.TestLoopback()
	if code, ok := checkPodIdentityFlags(c, &o, stderr); !ok {
		return code
	}
	if o.DefaultCacheDuration == 0 {
		return c.UsageError("--default-cache-duration 0 is not allowed: it would make the kubelet run the plugin for every json-key pull")
	}
	var err error
	if o.Registries, err = registries.ParseList(regs.Or(c.Settings.Registries)); err != nil {
		return c.UsageError("%v", err)
	}
	if printFlags && binDir == "" {
		return c.UsageError("--print-flags needs --bin-dir")
	}
	for _, p := range []struct{ flag, path string }{{"--bin-dir", binDir}, {"--config-path", configPath}} {
		if p.path != "" && !filepath.IsAbs(p.path) {
			return c.UsageError("%s %q must be an absolute path on the node", p.flag, p.path)
		}
	}

	cfg, err := KubeletConfig(o)
	if err != nil {
		return c.UsageError("%v", err)
	}
	flags := strings.Join(KubeletFlags(configPath, binDir), " ")
	if printFlags {
		fmt.Fprintln(stdout, flags)
		return 0
	}
	if _, err := stdout.Write(cfg); err != nil {
		return c.Fail(fmt.Errorf("writing the config: %v", err))
	}
	if binDir != "" {
		fmt.Fprintf(stderr, "gcrcred: save this config as %s, install the binary as %s, and start the kubelet with:\n  %s\n",
			configPath, filepath.Join(binDir, ProviderName), flags)
	}
	for _, w := range PodIdentityWarnings(o) {
		fmt.Fprintf(stderr, "gcrcred: warning: %s\n", w)
	}
	if o.ServiceAccountAudience != "" {
		fmt.Fprintf(stderr, "gcrcred: kubelets get tokens for audience %q only if the API server lets them: bind a ClusterRole with verb request-serviceaccounts-token-audience on that resource to group system:nodes (`gcrcred workload-identity setup-help` prints it)\n",
			o.ServiceAccountAudience)
	}
	return 0
}

// checkPodIdentityFlags gives the per-pod identity flags usage errors that
// name the flags, and reads the workload identity file to check it.
func checkPodIdentityFlags(c *cli.Call, o *ConfigOptions, stderr io.Writer) (int, bool) {
	if o.ServiceAccountAudience == "" && o.WorkloadIdentityFile == "" && !o.RequireServiceAccount && o.PodIdentityMode == "" && o.SubjectMapping == "" {
		return 0, true
	}
	if v, err := kubeletapi.NormalizeAPIVersion(o.APIVersion); err == nil && v != kubeletapi.APIVersionV1 {
		return c.UsageError("--service-account-audience, --workload-identity and --require-service-account need --api-version v1 (kubelet 1.34 and newer): the kubelet passes service-account tokens only to v1 plugins"), false
	}
	if o.ServiceAccountAudience == "" || o.WorkloadIdentityFile == "" {
		return c.UsageError("--service-account-audience and --workload-identity go together (--require-service-account, --pod-identity and --subject-mapping need both)"), false
	}
	if _, err := podidentity.ParseMode(o.PodIdentityMode); err != nil {
		return c.UsageError("--pod-identity: %v", err), false
	}
	if _, err := podidentity.ParseSubjectMapping(o.SubjectMapping); err != nil {
		return c.UsageError("--subject-mapping: %v", err), false
	}
	if !filepath.IsAbs(o.WorkloadIdentityFile) {
		return c.UsageError("--workload-identity %q must be an absolute path on the node", o.WorkloadIdentityFile), false
	}
	data, err := smallfile.Read(o.WorkloadIdentityFile, podidentity.MaxConfigBytes, "workload identity configuration")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return c.UsageError("--workload-identity %s does not exist: run kubelet-config where the file is, on the node (`gcrcred workload-identity setup-help` shows how to create it)", o.WorkloadIdentityFile), false
	case err != nil:
		return c.UsageError("--workload-identity: %v", err), false
	}
	o.WorkloadIdentityConfig = data
	return 0, true
}

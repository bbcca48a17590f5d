package provider

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/endpoint"
	"github.com/gcrcred/gcrcred/internal/kubeletapi"
	"github.com/gcrcred/gcrcred/internal/podidentity"
	"github.com/gcrcred/gcrcred/internal/registries"
	"github.com/gcrcred/gcrcred/internal/smallfile"
)

const kubeletConfigHelp = `Usage: gcrcred kubelet-config [flags] > ` + DefaultConfigPath + `

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

Per-pod identity (kubelet 1.34+, --api-version v1): each pod pulls as its own
Google identity, from its service-account token.
  --service-account-audience AUD  the audience of the tokens the kubelet asks for
                                  (the API server must let nodes request it: RBAC verb
                                  request-serviceaccounts-token-audience on resource AUD)
  --workload-identity FILE        workload identity federation credential configuration on the
                                  node (absolute; checked here), passed as GCRCRED_WORKLOAD_IDENTITY
  --require-service-account       never use the node's credentials: pods without a service
                                  account, or whose account would get them, get none
  --pod-identity MODE             annotated (default): a service account annotated
                                  iam.gke.io/gcp-service-account=GSA pulls as GSA, one annotated
                                  iam.gke.io/enable-wi-image-pull=true as its own principal, any
                                  other with the node's credentials; all: every one as itself
  --subject-mapping EXPR          the pool provider's google.subject mapping (default
                                  assertion.sub), to refuse subjects over Google's 127 bytes
` + "`gcrcred workload-identity setup-help`" + ` shows the Google side.
`

// RunKubeletConfig is `gcrcred kubelet-config`.
func RunKubeletConfig(args []string, stdout, stderr io.Writer) int {
	var (
		o          ConfigOptions
		regs       cli.OptionalString
		binDir     string
		configPath string
		printFlags bool
	)
	c := cli.New("gcrcred kubelet-config", kubeletConfigHelp, 0)
	c.Flags.StringVar(&o.APIVersion, "api-version", "v1", "")
	c.Flags.StringVar(&o.CredentialsFile, "credentials", "", "")
	c.Flags.StringVar(&o.CacheDir, "cache-dir", "", "")
	c.Flags.Var(&regs, "registries", "")
	c.Flags.DurationVar(&o.DefaultCacheDuration, "default-cache-duration", DefaultCacheDuration, "")
	c.Flags.StringVar(&binDir, "bin-dir", "", "")
	c.Flags.StringVar(&configPath, "config-path", DefaultConfigPath, "")
	c.Flags.BoolVar(&printFlags, "print-flags", false, "")
	c.Flags.StringVar(&o.ServiceAccountAudience, "service-account-audience", "", "")
	c.Flags.StringVar(&o.WorkloadIdentityFile, "workload-identity", "", "")
	c.Flags.BoolVar(&o.RequireServiceAccount, "require-service-account", false, "")
	c.Flags.StringVar(&o.PodIdentityMode, "pod-identity", "", "")
	c.Flags.StringVar(&o.SubjectMapping, "subject-mapping", "", "")
	if ok, code := c.Parse(args, stdout, stderr); !ok {
		return code
	}
	o.TestLoopbackEndpoints = endpoint.TestLoopback()
	if code, ok := checkPodIdentityFlags(c, &o, stderr); !ok {
		return code
	}
	if o.DefaultCacheDuration == 0 {
		return c.UsageError(stderr, "--default-cache-duration 0 is not allowed: it would make the kubelet run the plugin for every json-key pull")
	}
	list := os.Getenv(registries.EnvExtra)
	if regs.Given {
		list = regs.Value
	}
	var err error
	if o.Registries, err = registries.ParseList(list); err != nil {
		return c.UsageError(stderr, "%v", err)
	}
	if printFlags && binDir == "" {
		return c.UsageError(stderr, "--print-flags needs --bin-dir")
	}
	for _, p := range []struct{ flag, path string }{{"--bin-dir", binDir}, {"--config-path", configPath}} {
		if p.path != "" && !filepath.IsAbs(p.path) {
			return c.UsageError(stderr, "%s %q must be an absolute path on the node", p.flag, p.path)
		}
	}

	cfg, err := KubeletConfig(o)
	if err != nil {
		return c.UsageError(stderr, "%v", err)
	}
	flags := strings.Join(KubeletFlags(configPath, binDir), " ")
	if printFlags {
		fmt.Fprintln(stdout, flags)
		return 0
	}
	if _, err := stdout.Write(cfg); err != nil {
		return cli.Fail(stderr, c.Name, fmt.Errorf("writing the config: %v", err))
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
func checkPodIdentityFlags(c *cli.Command, o *ConfigOptions, stderr io.Writer) (int, bool) {
	if o.ServiceAccountAudience == "" && o.WorkloadIdentityFile == "" && !o.RequireServiceAccount && o.PodIdentityMode == "" && o.SubjectMapping == "" {
		return 0, true
	}
	if v, err := kubeletapi.NormalizeAPIVersion(o.APIVersion); err == nil && v != kubeletapi.APIVersionV1 {
		return c.UsageError(stderr, "--service-account-audience, --workload-identity and --require-service-account need --api-version v1 (kubelet 1.34 and newer): the kubelet passes service-account tokens only to v1 plugins"), false
	}
	if o.ServiceAccountAudience == "" || o.WorkloadIdentityFile == "" {
		return c.UsageError(stderr, "--service-account-audience and --workload-identity go together (--require-service-account, --pod-identity and --subject-mapping need both)"), false
	}
	if _, err := podidentity.ParseMode(o.PodIdentityMode); err != nil {
		return c.UsageError(stderr, "--pod-identity: %v", err), false
	}
	if _, err := podidentity.ParseSubjectMapping(o.SubjectMapping); err != nil {
		return c.UsageError(stderr, "--subject-mapping: %v", err), false
	}
	if !filepath.IsAbs(o.WorkloadIdentityFile) {
		return c.UsageError(stderr, "--workload-identity %q must be an absolute path on the node", o.WorkloadIdentityFile), false
	}
	data, err := smallfile.Read(o.WorkloadIdentityFile, podidentity.MaxConfigBytes, "workload identity configuration")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return c.UsageError(stderr, "--workload-identity %s does not exist: run kubelet-config where the file is, on the node (`gcrcred workload-identity setup-help` shows how to create it)", o.WorkloadIdentityFile), false
	case err != nil:
		return c.UsageError(stderr, "--workload-identity: %v", err), false
	}
	o.WorkloadIdentityConfig = data
	return 0, true
}

package providerconfig

import (
	"fmt"
	"strings"

	"github.com/gcrcred/gcrcred/internal/podidentity"
)

// CheckWorkloadIdentityConfig checks a workload identity federation
// credential configuration (what `gcloud iam workload-identity-pools
// create-cred-config` writes) read from path, as get-credentials will.
func CheckWorkloadIdentityConfig(data []byte, path string) error {
	_, err := podidentity.ParseConfig(data, path)
	return err
}

// CheckServiceAccountAudience checks an audience for tokenAttributes.
func CheckServiceAccountAudience(aud string) error {
	switch {
	case aud == "":
		return fmt.Errorf("the service-account token audience is empty")
	case len(aud) > 1024:
		return fmt.Errorf("the service-account token audience is longer than 1024 bytes")
	case strings.ContainsFunc(aud, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return fmt.Errorf("the service-account token audience %q contains spaces or control characters", aud)
	}
	return nil
}

// PodIdentityWarnings are what is legal in o but likely not what was
// meant, one line each: an audience that is not the pool provider the
// configuration names (Google's STS then accepts it only if the provider
// lists it among its allowed audiences), and a default Google service
// account in the configuration that annotated mode never uses.
func PodIdentityWarnings(o Options) []string {
	if o.WorkloadIdentityConfig == nil {
		return nil
	}
	cfg, err := podidentity.ParseConfig(o.WorkloadIdentityConfig, o.WorkloadIdentityFile)
	if err != nil {
		return nil // New says why
	}
	var out []string
	if aud := o.ServiceAccountAudience; aud != cfg.Audience && aud != "https:"+cfg.Audience {
		out = append(out, fmt.Sprintf("the service-account token audience %q is not the pool provider %s names (https:%s): Google's STS accepts it only if that provider lists it (`gcloud iam workload-identity-pools providers update-oidc ... --allowed-audiences`)",
			aud, o.WorkloadIdentityFile, cfg.Audience))
	}
	if mode, _ := podidentity.ParseMode(o.PodIdentityMode); mode == podidentity.ModeAnnotated && cfg.DefaultServiceAccount() != "" {
		out = append(out, fmt.Sprintf("%s impersonates %s by default (service_account_impersonation_url), which only --pod-identity all uses: in annotated mode service accounts name their Google service account with %s, or pull as their principal with %s=true",
			o.WorkloadIdentityFile, cfg.DefaultServiceAccount(), podidentity.AnnotationKey, podidentity.EnableAnnotationKey))
	}
	return out
}

package provider

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/smallfile"
)

// WorkloadIdentityCommand is `gcrcred workload-identity setup-help`.
func WorkloadIdentityCommand() *cli.Command {
	var audience, issuer, jwks string
	setup := &cli.Command{
		Name:    "setup-help",
		Summary: "print the commands that set up per-pod identity on Google's side",
		Help: `Prints the commands that let each pod pull as its own Google identity: fetch
the cluster's service-account issuer and keys, create a workload identity
pool and an OIDC provider that trusts them, grant a Google service account
to a Kubernetes service account, let it read an Artifact Registry
repository, write the credential configuration, and configure the kubelet.
Edit the variables at the top, then run the steps. Nothing is run here.`,
		Flags: func(fs *cli.FlagSet) {
			fs.StringVar(&audience, "audience", "", "the service-account token `AUDIENCE` (default: the provider's resource name, https://iam.googleapis.com/projects/...; another value is added to the provider's allowed audiences)")
			fs.StringVar(&issuer, "issuer", "", "the cluster's service-account issuer `URL` (default: asks kubectl)")
			fs.StringVar(&jwks, "jwks", "", "the cluster's JSON Web Key Set `FILE`, for an issuer Google cannot reach (minikube, kind, kubeadm; default: fetched with kubectl)")
		},
		Run: func(c *cli.Call) int { return setupHelp(c, audience, issuer, jwks) },
	}
	return &cli.Command{
		Name:    "workload-identity",
		Summary: "the Google side of per-pod identity",
		Subs:    []*cli.Command{setup},
	}
}

func setupHelp(c *cli.Call, audience, issuer, jwks string) int {
	stdout := c.Stdout
	if audience != "" {
		if err := CheckServiceAccountAudience(audience); err != nil {
			return c.UsageError("--audience: %v", err)
		}
	}
	if issuer != "" {
		if u, err := url.Parse(issuer); err != nil || u.Scheme != "https" || u.Host == "" {
			return c.UsageError("--issuer %q is not an https URL: Google accepts only https issuers (see the issuer in `kubectl get --raw /.well-known/openid-configuration`)", issuer)
		}
	}
	if jwks != "" {
		if err := checkJWKSFile(jwks); err != nil {
			return c.UsageError("--jwks: %v", err)
		}
	}
	fmt.Fprint(stdout, SetupHelp(audience, issuer, jwks))
	return 0
}

// checkJWKSFile checks that path holds a JSON Web Key Set with keys.
func checkJWKSFile(path string) error {
	b, err := smallfile.Read(path, 1<<20, "JSON Web Key Set")
	if err != nil {
		return err
	}
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil || len(set.Keys) == 0 || set.Keys[0].Kty == "" {
		return fmt.Errorf("%s is not a JSON Web Key Set with keys (what `kubectl get --raw /openid/v1/jwks` prints)", path)
	}
	return nil
}

// SetupHelp is the text setup-help prints: a shell recipe, with the given
// audience, issuer and JWKS file filled in ("" for the defaults).
func SetupHelp(audience, issuer, jwksPath string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	q := cli.ShellQuote

	w("# Per-pod identity for gcrcred: every pod pulls as its own Google identity.\n")
	w("# kubectl must point at the cluster, gcloud at the Google project. Edit, then run step by step.\n\n")
	w("PROJECT_ID=my-project                        # the project of the pool and the service accounts\n")
	w("PROJECT_NUMBER=$(gcloud projects describe \"$PROJECT_ID\" --format='value(projectNumber)')\n")
	w("POOL=kubernetes                              # workload identity pool id\n")
	w("PROVIDER=my-cluster                          # one provider per cluster (per issuer)\n")
	w("PROVIDER_NAME=\"projects/$PROJECT_NUMBER/locations/global/workloadIdentityPools/$POOL/providers/$PROVIDER\"\n")
	if audience == "" {
		w("AUDIENCE=\"https://iam.googleapis.com/$PROVIDER_NAME\"   # Google's default: no allowed audiences to set\n")
	} else {
		w("AUDIENCE=%s\n", q(audience))
	}
	w("NAMESPACE=team-a NAME=puller                 # a Kubernetes service account whose pods pull\n")
	w("GSA=\"$NAMESPACE-puller@$PROJECT_ID.iam.gserviceaccount.com\"   # the Google service account it pulls as\n")
	w("REPOSITORY=my-repo LOCATION=us               # an Artifact Registry repository it may read\n\n")

	w("# 1. The cluster's service-account issuer and its public keys.\n")
	if issuer == "" {
		w("ISSUER=$(kubectl get --raw /.well-known/openid-configuration | sed -n 's/.*\"issuer\":\"\\([^\"]*\\)\".*/\\1/p')\n")
	} else {
		w("ISSUER=%s\n", q(issuer))
	}
	if jwksPath == "" {
		w("kubectl get --raw /openid/v1/jwks > cluster-jwks.json\n")
		jwksPath = "cluster-jwks.json"
	} else {
		w("# keys: %s\n", jwksPath)
	}
	w("\n")

	w("# 2. A pool, and a provider that trusts the cluster's tokens and maps each to its\n")
	w("#    service account (sub system:serviceaccount:NAMESPACE:NAME).\n")
	w("gcloud iam workload-identity-pools create \"$POOL\" --project=\"$PROJECT_ID\" --location=global \\\n")
	w("    --display-name=\"Kubernetes pods\"\n")
	w("gcloud iam workload-identity-pools providers create-oidc \"$PROVIDER\" --project=\"$PROJECT_ID\" \\\n")
	w("    --location=global --workload-identity-pool=\"$POOL\" \\\n")
	w("    --issuer-uri=\"$ISSUER\" \\\n")
	w("    --jwk-json-path=%s \\\n", q(jwksPath))
	if audience != "" {
		w("    --allowed-audiences=\"$AUDIENCE\" \\\n")
	}
	w("    --attribute-mapping=google.subject=assertion.sub\n")
	w("# --jwk-json-path is for an issuer Google cannot fetch keys from (minikube, kind, kubeadm:\n")
	w("# https://kubernetes.default.svc...). Drop it if $ISSUER/.well-known/openid-configuration is\n")
	w("# public. When the cluster's signing keys change, upload them again:\n")
	w("#   gcloud iam workload-identity-pools providers update-oidc \"$PROVIDER\" ... --jwk-json-path=...\n\n")

	w("# 3. For each Kubernetes service account: a Google service account it may impersonate,\n")
	w("#    the annotation that names it, and read access to the repository.\n")
	w("gcloud iam service-accounts create \"${GSA%%%%@*}\" --project=\"$PROJECT_ID\"\n")
	w("gcloud iam service-accounts add-iam-policy-binding \"$GSA\" --project=\"$PROJECT_ID\" \\\n")
	w("    --role=roles/iam.workloadIdentityUser \\\n")
	w("    --member=\"principal://iam.googleapis.com/projects/$PROJECT_NUMBER/locations/global/workloadIdentityPools/$POOL/subject/system:serviceaccount:$NAMESPACE:$NAME\"\n")
	w("kubectl annotate serviceaccount -n \"$NAMESPACE\" \"$NAME\" %s=\"$GSA\"\n", ServiceAccountAnnotation)
	w("gcloud artifacts repositories add-iam-policy-binding \"$REPOSITORY\" --project=\"$PROJECT_ID\" \\\n")
	w("    --location=\"$LOCATION\" --role=roles/artifactregistry.reader --member=\"serviceAccount:$GSA\"\n")
	w("# Without the annotation a pod pulls as its principal itself: grant the reader role to\n")
	w("# --member=\"principal://iam.googleapis.com/projects/$PROJECT_NUMBER/locations/global/workloadIdentityPools/$POOL/subject/system:serviceaccount:$NAMESPACE:$NAME\"\n\n")

	w("# 4. The credential configuration the nodes use (the token file is never read: the\n")
	w("#    kubelet hands gcrcred each pod's token). No --service-account: each pod's annotation\n")
	w("#    names its own; with one, pods without an annotation would all try that account.\n")
	w("gcloud iam workload-identity-pools create-cred-config \"$PROVIDER_NAME\" \\\n")
	w("    --credential-source-file=/var/run/service-account/token \\\n")
	w("    --output-file=workload-identity.json\n\n")

	w("# 5. Every node: the file, the kubelet's provider config, and the API server's permission\n")
	w("#    for kubelets to request tokens for the audience (without it no token is issued and\n")
	w("#    the kubelet skips gcrcred for pods with a service account).\n")
	w("#    (or `gcrcred minikube install` / `gcrcred kind install` with the same flags on the host,\n")
	w("#    or the DaemonSet in deploy/ with deploy/workload-identity).\n")
	w("sudo gcrcred node install --workload-identity workload-identity.json \\\n")
	w("    --service-account-audience \"$AUDIENCE\" --require-service-account\n")
	w("kubectl apply -f - <<EOF\n")
	w("apiVersion: rbac.authorization.k8s.io/v1\n")
	w("kind: ClusterRole\n")
	w("metadata: {name: gcrcred-service-account-audience}\n")
	w("rules:\n")
	w("- {apiGroups: [\"\"], resources: [\"$AUDIENCE\"], verbs: [request-serviceaccounts-token-audience]}\n")
	w("---\n")
	w("apiVersion: rbac.authorization.k8s.io/v1\n")
	w("kind: ClusterRoleBinding\n")
	w("metadata: {name: gcrcred-service-account-audience}\n")
	w("roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: gcrcred-service-account-audience}\n")
	w("subjects:\n")
	w("- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:nodes}\n")
	w("EOF\n")
	w("# Leave out --require-service-account to let pods without a service account (static\n")
	w("# pods) pull with the node's credentials, if the node has any.\n")
	return b.String()
}

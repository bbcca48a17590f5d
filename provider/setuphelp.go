package provider

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/podidentity"
	"github.com/gcrcred/gcrcred/internal/smallfile"
)

// SetupOptions shape the recipe; "" means the placeholder or the default.
type SetupOptions struct {
	Cluster, SharedPool    string
	Project, ProjectNumber string
	Audience, Issuer, JWKS string
}

// isPoolID reports whether id is what Google takes as a pool or provider
// id: 4 to 32 of a-z, 0-9 and -. (By hand: a pattern compiled at start
// would cost every process, the warm Docker `get` included.)
func isPoolID(id string) bool {
	return len(id) >= 4 && len(id) <= 32 && strings.Trim(id, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
}

// WorkloadIdentityCommand is `gcrcred workload-identity setup-help`.
func WorkloadIdentityCommand() *cli.Command {
	var o SetupOptions
	setup := &cli.Command{
		Name:    "setup-help",
		Summary: "print the commands that set up per-pod identity on Google's side",
		Help: `Prints the commands that let pods pull as their own Google identity, one
service account at a time: enable the APIs, fetch the cluster's
service-account issuer and keys, create a workload identity pool and an OIDC
provider that trusts them, grant a Google service account to a Kubernetes
service account (or a repository to it directly), write the credential
configuration, and configure the nodes. Edit the variables at the top, then
run the steps. Nothing is run here.

Principals belong to the pool, not the provider: two clusters whose
providers share a pool share every system:serviceaccount:NS:NAME. So the
recipe is one pool per cluster, or, with --shared-pool, one provider per
cluster in a shared pool, its tokens held to the cluster's issuer and its
subjects and namespaces prefixed with the cluster's name.`,
		Flags: func(fs *cli.FlagSet) {
			fs.StringVar(&o.Cluster, "cluster", "", "the cluster's `NAME`: its pool (or, with --shared-pool, its provider) id and prefix (default my-cluster)")
			fs.StringVar(&o.SharedPool, "shared-pool", "", "one provider per cluster in the shared `POOL`")
			fs.StringVar(&o.Project, "project", "", "the Google project `ID` (default my-project)")
			fs.StringVar(&o.ProjectNumber, "project-number", "", "the project's `NUMBER` (digits; default: asks gcloud)")
			fs.StringVar(&o.Audience, "audience", "", "the service-account token `AUDIENCE` (default: the provider's resource name, https://iam.googleapis.com/projects/...; another value is added to the provider's allowed audiences)")
			fs.StringVar(&o.Issuer, "issuer", "", "the cluster's service-account issuer `URL` (default: asks kubectl)")
			fs.StringVar(&o.JWKS, "jwks", "", "the cluster's JSON Web Key Set `FILE`, for an issuer Google cannot reach (minikube, kind, kubeadm; default: fetched with kubectl); its keys must be RS256 or ES256, the only ones Google's STS accepts")
		},
		Run: func(c *cli.Call) int { return setupHelp(c, o) },
	}
	return &cli.Command{
		Name:    "workload-identity",
		Summary: "the Google side of per-pod identity",
		Subs:    []*cli.Command{setup},
	}
}

func setupHelp(c *cli.Call, o SetupOptions) int {
	for _, id := range []struct{ flag, v string }{{"--cluster", o.Cluster}, {"--shared-pool", o.SharedPool}} {
		if id.v != "" && (!isPoolID(id.v) || strings.HasPrefix(id.v, "gcp-") || strings.HasPrefix(id.v, "-")) {
			return c.UsageError("%s %q: Google's pool and provider ids are 4 to 32 lowercase letters, digits and hyphens, not starting with gcp- or a hyphen", id.flag, id.v)
		}
	}
	if o.ProjectNumber != "" && strings.Trim(o.ProjectNumber, "0123456789") != "" {
		return c.UsageError("--project-number %q is not a project number (digits): pool names carry the number, not the ID (`gcloud projects describe PROJECT --format='value(projectNumber)'`)", o.ProjectNumber)
	}
	if o.Audience != "" {
		if err := CheckServiceAccountAudience(o.Audience); err != nil {
			return c.UsageError("--audience: %v", err)
		}
	}
	if o.Issuer != "" {
		if u, err := url.Parse(o.Issuer); err != nil || u.Scheme != "https" || u.Host == "" {
			return c.UsageError("--issuer %q is not an https URL: Google accepts only https issuers (see the issuer in `kubectl get --raw /.well-known/openid-configuration`)", o.Issuer)
		}
	}
	if o.JWKS != "" {
		if err := checkJWKSFile(o.JWKS); err != nil {
			return c.UsageError("--jwks: %v", err)
		}
	}
	fmt.Fprint(c.Stdout, SetupHelp(o))
	return 0
}

// checkJWKSFile checks that path holds a JSON Web Key Set whose every key
// Google's STS can verify: RSA (RS256) or P-256 EC (ES256).
func checkJWKSFile(path string) error {
	b, err := smallfile.Read(path, 1<<20, "JSON Web Key Set")
	if err != nil {
		return err
	}
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			Alg string `json:"alg"`
			Crv string `json:"crv"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil || len(set.Keys) == 0 || set.Keys[0].Kty == "" {
		return fmt.Errorf("%s is not a JSON Web Key Set with keys (what `kubectl get --raw /openid/v1/jwks` prints)", path)
	}
	for _, k := range set.Keys {
		ok := k.Kty == "RSA" && (k.Alg == "" || k.Alg == "RS256") ||
			k.Kty == "EC" && k.Crv == "P-256" && (k.Alg == "" || k.Alg == "ES256")
		if !ok {
			what := strings.Join(strings.Fields(cli.Clip(k.Kty, 20)+" "+cli.Clip(k.Crv, 20)+" "+cli.Clip(k.Alg, 20)), " ")
			return fmt.Errorf("%s: key %q is %s, and Google's STS accepts only RS256 (RSA) and ES256 (P-256) tokens: give the API server an RSA or P-256 signing key (--service-account-signing-key-file), or tokens signed with this one are refused", path, cli.Clip(k.Kid, 60), what)
		}
	}
	return nil
}

// SetupHelp is the text setup-help prints: a shell recipe, with the given
// values filled in.
func SetupHelp(o SetupOptions) string {
	r := &recipe{o: o, shared: o.SharedPool != ""}
	r.variables()
	r.apis()
	jwks := r.issuer()
	r.pool(jwks)
	r.grants()
	r.credentialConfig()
	r.nodes()
	return r.String()
}

// recipe is setup-help's text as it is written, step by step.
type recipe struct {
	strings.Builder
	o      SetupOptions
	shared bool // one pool for several clusters: subjects carry the cluster's name
}

// The claims of a Kubernetes service-account token the provider maps.
const (
	nsClaim   = "assertion['kubernetes.io']['namespace']"
	nameClaim = "assertion['kubernetes.io']['serviceaccount']['name']"
)

func (r *recipe) w(format string, args ...any) { fmt.Fprintf(r, format, args...) }

// or is v shell-quoted, or def where v is unset.
func (r *recipe) or(v, def string) string {
	if v == "" {
		return def
	}
	return cli.ShellQuote(v)
}

// variables writes the shell variables the steps use, filled in where given.
func (r *recipe) variables() {
	r.w("# Per-pod identity for gcrcred, adopted one service account at a time: a Kubernetes\n")
	r.w("# service account annotated %s=GSA pulls as that Google service account,\n", ServiceAccountAnnotation)
	r.w("# one annotated %s=true as its own principal, any other with the node's\n", EnableAnnotation)
	r.w("# credentials as before (--pod-identity annotated, the default).\n")
	r.w("# kubectl must point at the cluster, gcloud at the Google project. Edit, then run step by step.\n\n")
	r.w("PROJECT_ID=%s\n", r.or(r.o.Project, "my-project"))
	if r.o.ProjectNumber != "" {
		r.w("PROJECT_NUMBER=%s\n", r.o.ProjectNumber)
	} else {
		r.w("PROJECT_NUMBER=$(gcloud projects describe \"$PROJECT_ID\" --format='value(projectNumber)')\n")
	}
	r.w("case \"$PROJECT_NUMBER\" in ''|*[!0-9]*) echo \"PROJECT_NUMBER=$PROJECT_NUMBER: want the project's number (digits), which pool names carry, not its ID\" >&2; false;; esac\n")
	r.w("CLUSTER=%s\n", r.or(r.o.Cluster, "my-cluster"))
	if r.shared {
		r.w("# Principals belong to the pool: every cluster's provider in it holds its tokens to its\n")
		r.w("# own issuer and prefixes subjects and namespaces with its name, or team-a of one\n")
		r.w("# cluster would be team-a of all.\n")
		r.w("POOL=%s PROVIDER=\"$CLUSTER\"\n", cli.ShellQuote(r.o.SharedPool))
		r.w("SUBJECT_MAPPING=\"'$CLUSTER:'+assertion.sub\"             # google.subject: CLUSTER:system:serviceaccount:NS:NAME\n")
		r.w("NAMESPACE_MAPPING=\"'$CLUSTER:'+%s\"\n", nsClaim)
	} else {
		r.w("# One pool per cluster: its principals are this cluster's alone.\n")
		r.w("POOL=\"$CLUSTER\" PROVIDER=kubernetes\n")
		r.w("SUBJECT_MAPPING=assertion.sub                      # google.subject: system:serviceaccount:NS:NAME\n")
		r.w("NAMESPACE_MAPPING=\"%s\"\n", nsClaim)
	}
	r.w("POOL_NAME=\"projects/$PROJECT_NUMBER/locations/global/workloadIdentityPools/$POOL\"\n")
	r.w("PROVIDER_NAME=\"$POOL_NAME/providers/$PROVIDER\"\n")
	if r.o.Audience == "" {
		r.w("AUDIENCE=\"https://iam.googleapis.com/$PROVIDER_NAME\"   # Google's default: no allowed audiences to set\n")
	} else {
		r.w("AUDIENCE=%s\n", cli.ShellQuote(r.o.Audience))
	}
	r.w("NAMESPACE=team-a NAME=puller                   # a Kubernetes service account whose pods pull\n")
	prefix := ""
	if r.shared {
		prefix = "$CLUSTER:"
	}
	r.w("PRINCIPAL=\"principal://iam.googleapis.com/$POOL_NAME/subject/%ssystem:serviceaccount:$NAMESPACE:$NAME\"\n", prefix)
	r.w("NAMESPACE_SET=\"principalSet://iam.googleapis.com/$POOL_NAME/attribute.namespace/%s$NAMESPACE\"   # all its service accounts\n", prefix)
	r.w("GSA=\"$NAMESPACE-puller@$PROJECT_ID.iam.gserviceaccount.com\"   # the Google service account it may pull as\n")
	r.w("REPOSITORY=my-repo LOCATION=us                 # an Artifact Registry repository it may read\n\n")
}

// apis writes step 0.
func (r *recipe) apis() {
	r.w("# 0. The APIs.\n")
	r.w("gcloud services enable iam.googleapis.com sts.googleapis.com iamcredentials.googleapis.com \\\n")
	r.w("    artifactregistry.googleapis.com --project=\"$PROJECT_ID\"\n\n")
}

// issuer writes step 1; it returns the JWKS file step 2 uploads.
func (r *recipe) issuer() (jwks string) {
	r.w("# 1. The cluster's service-account issuer and its public keys.\n")
	if r.o.Issuer == "" {
		r.w("ISSUER=$(kubectl get --raw /.well-known/openid-configuration | sed -n 's/.*\"issuer\":\"\\([^\"]*\\)\".*/\\1/p')\n")
	} else {
		r.w("ISSUER=%s\n", cli.ShellQuote(r.o.Issuer))
	}
	jwks = r.o.JWKS
	if jwks == "" {
		r.w("kubectl get --raw /openid/v1/jwks > cluster-jwks.json\n")
		r.w("# (`gcrcred workload-identity setup-help --jwks cluster-jwks.json` checks that its keys are\n")
		r.w("# RS256 or ES256, the only ones Google's STS accepts.)\n")
		jwks = "cluster-jwks.json"
	} else {
		r.w("# keys: %s (RS256/ES256: checked)\n", jwks)
	}
	r.w("\n")
	return jwks
}

// pool writes step 2.
func (r *recipe) pool(jwks string) {
	r.w("# 2. The pool, and a provider that trusts the cluster's tokens and maps each to its\n")
	r.w("#    service account (google.subject) and namespace (attribute.namespace).\n")
	r.w("gcloud iam workload-identity-pools create \"$POOL\" --project=\"$PROJECT_ID\" --location=global \\\n")
	r.w("    --display-name=\"Kubernetes pods\"\n")
	r.w("gcloud iam workload-identity-pools providers create-oidc \"$PROVIDER\" --project=\"$PROJECT_ID\" \\\n")
	r.w("    --location=global --workload-identity-pool=\"$POOL\" \\\n")
	r.w("    --issuer-uri=\"$ISSUER\" \\\n")
	r.w("    --jwk-json-path=%s \\\n", cli.ShellQuote(jwks))
	if r.o.Audience != "" {
		r.w("    --allowed-audiences=\"$AUDIENCE\" \\\n")
	}
	if r.shared {
		r.w("    --attribute-condition=\"assertion.iss=='$ISSUER'\" \\\n")
	}
	r.w("    --attribute-mapping=\"google.subject=$SUBJECT_MAPPING,attribute.namespace=$NAMESPACE_MAPPING,attribute.service_account_name=%s\"\n", nameClaim)
	r.w("# --jwk-json-path is for an issuer Google cannot fetch keys from (minikube, kind, kubeadm:\n")
	r.w("# https://kubernetes.default.svc...). Drop it if $ISSUER/.well-known/openid-configuration is\n")
	r.w("# public. When the cluster's signing keys change, upload them again:\n")
	r.w("#   gcloud iam workload-identity-pools providers update-oidc \"$PROVIDER\" ... --jwk-json-path=...\n")
	r.w("# google.subject is at most %d bytes; system:serviceaccount: takes 22 of them. For longer\n", podidentity.MaxSubjectBytes)
	r.w("# names map a shorter one, here and on the nodes (--subject-mapping), and grant to it:\n")
	short := nsClaim + "+':'+" + nameClaim
	if r.shared {
		short = "'$CLUSTER:'+" + short
	}
	r.w("#   SUBJECT_MAPPING=\"%s\"\n\n", short)
}

// grants writes step 3.
func (r *recipe) grants() {
	r.w("# 3. For each Kubernetes service account, one of:\n")
	r.w("#  a. Impersonation: a Google service account it may act as (works inside a VPC Service\n")
	r.w("#     Controls perimeter), named by its annotation, that may read the repository.\n")
	r.w("gcloud iam service-accounts create \"${GSA%%%%@*}\" --project=\"$PROJECT_ID\"\n")
	r.w("gcloud iam service-accounts add-iam-policy-binding \"$GSA\" --project=\"$PROJECT_ID\" \\\n")
	r.w("    --role=roles/iam.workloadIdentityUser --member=\"$PRINCIPAL\"      # or \"$NAMESPACE_SET\"\n")
	r.w("kubectl annotate serviceaccount -n \"$NAMESPACE\" \"$NAME\" %s=\"$GSA\"\n", ServiceAccountAnnotation)
	r.w("gcloud artifacts repositories add-iam-policy-binding \"$REPOSITORY\" --project=\"$PROJECT_ID\" \\\n")
	r.w("    --location=\"$LOCATION\" --role=roles/artifactregistry.reader --member=\"serviceAccount:$GSA\"\n")
	r.w("#  b. Direct access: the repository grants its own principal (or its namespace's set).\n")
	r.w("kubectl annotate serviceaccount -n \"$NAMESPACE\" \"$NAME\" %s=true\n", EnableAnnotation)
	r.w("gcloud artifacts repositories add-iam-policy-binding \"$REPOSITORY\" --project=\"$PROJECT_ID\" \\\n")
	r.w("    --location=\"$LOCATION\" --role=roles/artifactregistry.reader --member=\"$PRINCIPAL\"   # or \"$NAMESPACE_SET\"\n")
	r.w("# gcr.io images are in Artifact Registry's gcr.io repositories: grant on them as above,\n")
	r.w("# repository gcr.io in location us, eu.gcr.io in europe, asia.gcr.io in asia:\n")
	r.w("#   gcloud artifacts repositories add-iam-policy-binding gcr.io --project=\"$PROJECT_ID\" \\\n")
	r.w("#       --location=us --role=roles/artifactregistry.reader --member=...\n")
	r.w("# A service account with neither annotation pulls with the node's credentials.\n\n")
}

// credentialConfig writes step 4.
func (r *recipe) credentialConfig() {
	r.w("# 4. The credential configuration the nodes use (the token file is never read: the\n")
	r.w("#    kubelet hands gcrcred each pod's token). No --service-account: each annotation names\n")
	r.w("#    its own.\n")
	r.w("gcloud iam workload-identity-pools create-cred-config \"$PROVIDER_NAME\" \\\n")
	r.w("    --credential-source-file=/var/run/service-account/token \\\n")
	r.w("    --output-file=workload-identity.json\n\n")
}

// nodes writes step 5.
func (r *recipe) nodes() {
	r.w("# 5. Every node: the file, the kubelet's provider config, and the API server's permission\n")
	r.w("#    for kubelets to request tokens for the audience (without it no token is issued and\n")
	r.w("#    the kubelet skips gcrcred for pods with a service account). Kubelet 1.35+ (1.34 with\n")
	r.w("#    the KubeletEnsureSecretPulledImages feature gate): older ones let any pod run an image\n")
	r.w("#    another service account pulled to the node.\n")
	r.w("#    (or `gcrcred minikube install` / `gcrcred kind install` with the same flags on the host,\n")
	r.w("#    or the DaemonSet in deploy/ with deploy/workload-identity).\n")
	r.w("sudo gcrcred node install --workload-identity workload-identity.json \\\n")
	r.w("    --service-account-audience \"$AUDIENCE\" --pod-identity annotated \\\n")
	r.w("    --subject-mapping \"$SUBJECT_MAPPING\" --credentials node-key.json\n")
	r.w("kubectl apply -f - <<EOF\n")
	r.w("apiVersion: rbac.authorization.k8s.io/v1\n")
	r.w("kind: ClusterRole\n")
	r.w("metadata: {name: %s}\n", RBACName)
	r.w("rules:\n")
	r.w("- {apiGroups: [\"\"], resources: [\"$AUDIENCE\"], verbs: [request-serviceaccounts-token-audience]}\n")
	r.w("---\n")
	r.w("apiVersion: rbac.authorization.k8s.io/v1\n")
	r.w("kind: ClusterRoleBinding\n")
	r.w("metadata: {name: %s}\n", RBACName)
	r.w("roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: %s}\n", RBACName)
	r.w("subjects:\n")
	r.w("- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:nodes}\n")
	r.w("EOF\n")
	r.w("# --credentials: what pods that asked for nothing pull with (leave it out for none).\n")
	r.w("# --pod-identity all: every pod pulls as itself. --require-service-account: pods that\n")
	r.w("# would get the node's credentials get none.\n")
}

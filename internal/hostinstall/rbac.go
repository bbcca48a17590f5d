package hostinstall

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/podidentity"
)

// Per-pod identity needs the API server's permission: its
// ServiceAccountNodeAudienceRestriction refuses a kubelet's request for a
// service-account token with an audience no pod on its node names, unless
// RBAC grants verb request-serviceaccounts-token-audience on the audience
// (as a resource of the core group) to group system:nodes. The installers
// apply that with kubectl against the cluster's own context when kubectl
// is on PATH, and print it as the next step when it is not. The objects
// have the one name deploy/workload-identity and setup-help use too (one
// pair per cluster, whoever applied it: an install updates it to its
// audience), and a label that uninstall deletes them by.

// RBACName names the ClusterRole and ClusterRoleBinding the installers apply.
const RBACName = podidentity.RBACName

// rbacSelector selects exactly what the installers applied.
const rbacSelector = "app.kubernetes.io/managed-by=gcrcred-installer"

// RBACManifest is the ClusterRole and ClusterRoleBinding for audience.
func RBACManifest(audience string) string {
	aud, _ := json.Marshal(audience) // a JSON string is a YAML scalar, whatever the audience holds
	meta := "metadata:\n  name: " + RBACName + "\n  labels:\n    app.kubernetes.io/part-of: gcrcred\n    app.kubernetes.io/managed-by: gcrcred-installer\n"
	return "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n" + meta +
		"rules:\n- apiGroups: [\"\"]\n  resources: [" + string(aud) + "]\n  verbs: [request-serviceaccounts-token-audience]\n" +
		"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n" + meta +
		"roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: " + RBACName + "\n" +
		"subjects:\n- apiGroup: rbac.authorization.k8s.io\n  kind: Group\n  name: system:nodes\n"
}

// RBAC is the API server's side of per-pod identity on one cluster.
type RBAC struct {
	Kubectl  string // kubectl's path; "" when it is not on PATH
	Context  string // the cluster's kubectl context
	Audience string
}

// NewRBAC looks kubectl up on PATH.
func NewRBAC(context, audience string) RBAC {
	bin, _ := exec.LookPath("kubectl")
	return RBAC{Kubectl: bin, Context: context, Audience: audience}
}

const kubectlTimeout = time.Minute

func (r RBAC) kubectl(ctx context.Context, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, kubectlTimeout)
	defer cancel()
	full := append([]string{"--context", r.Context}, args...)
	cmd := exec.CommandContext(ctx, r.Kubectl, full...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.Join(strings.Fields(stderr.String()+out.String()), " ")
		return out.String(), fmt.Errorf("`kubectl %s` failed (%v): %s", strings.Join(full, " "), err, msg)
	}
	return out.String(), nil
}

func (r RBAC) applyCommand() string {
	return "kubectl --context " + cli.ShellQuote(r.Context) + " apply -f -"
}

func (r RBAC) deleteArgs() []string {
	return []string{"delete", "clusterrolebinding,clusterrole", "-l", rbacSelector}
}

// GrantSteps are install's steps for the API server: one applying the
// RBAC when kubectl is there, none otherwise (NextStep says what to run)
// or without an audience.
func (r RBAC) GrantSteps() []Step {
	if r.Kubectl == "" || r.Audience == "" {
		return nil
	}
	return []Step{{
		What: fmt.Sprintf("let kubelets request service-account tokens for audience %q (%s)", r.Audience, r.applyCommand()),
		Do: func(ctx context.Context, detail io.Writer) (bool, error) {
			out, err := r.kubectl(ctx, RBACManifest(r.Audience), "apply", "-f", "-")
			io.WriteString(detail, out)
			if err != nil {
				return false, fmt.Errorf("%v: check that kubectl's context %q (in $KUBECONFIG, else ~/.kube/config) reaches the cluster, then rerun", err, r.Context)
			}
			return strings.Contains(out, " created") || strings.Contains(out, " configured"), nil
		},
	}}
}

// Plan says what install does for the API server (nothing without an
// audience).
func (r RBAC) Plan(out io.Writer) {
	if r.Audience == "" {
		return
	}
	how := "applied with " + r.applyCommand()
	if r.Kubectl == "" {
		how = "for you to apply (no kubectl on PATH; install prints the command)"
	}
	fmt.Fprintf(out, "  the API server: ClusterRole and ClusterRoleBinding %s let group system:nodes request service-account tokens for audience %q, %s:\n", RBACName, r.Audience, how)
	for _, l := range strings.Split(strings.TrimRight(RBACManifest(r.Audience), "\n"), "\n") {
		fmt.Fprintln(out, "    "+l)
	}
}

// NextStep prints what to run when kubectl was not there to apply the
// RBAC an audience needs.
func (r RBAC) NextStep(out io.Writer) {
	if r.Kubectl != "" || r.Audience == "" {
		return
	}
	fmt.Fprintf(out, "* Next step (no kubectl on PATH): let kubelets request service-account tokens for audience %q, or pods get none:\n", r.Audience)
	fmt.Fprintf(out, "  %s <<'EOF'\n%sEOF\n", r.applyCommand(), RBACManifest(r.Audience))
}

// RevokeSteps are uninstall's steps for the API server: one deleting what
// install applied (nothing, if it applied nothing), when kubectl is there.
// A kubectl that fails is reported, not fatal: the nodes are done.
func (r RBAC) RevokeSteps() []Step {
	if r.Kubectl == "" {
		return nil
	}
	cmd := cli.ShellJoin(append([]string{"kubectl", "--context", r.Context}, r.deleteArgs()...))
	return []Step{{
		What: "remove the per-pod identity RBAC install applied, if any (" + cmd + ")",
		Do: func(ctx context.Context, detail io.Writer) (bool, error) {
			out, err := r.kubectl(ctx, "", r.deleteArgs()...)
			if err != nil {
				fmt.Fprintf(detail, "note: %v; if install applied %s, run `%s` when the cluster is reachable\n", err, RBACName, cmd)
				return false, nil
			}
			io.WriteString(detail, out)
			return strings.Contains(out, " deleted"), nil
		},
	}}
}

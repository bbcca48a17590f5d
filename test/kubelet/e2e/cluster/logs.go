package cluster

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
)

// InstallerNamespace is where deploy/ runs gcrcred's installer DaemonSets.
const InstallerNamespace = "gcrcred-system"

// DumpLogs writes what explains a failure: the ends of the supervisor's,
// the kubelet's, containerd's and the control plane's logs, the units'
// status, the cluster's pods and events, each pod container's log, and the
// fakes' counters.
func (c *Cluster) DumpLogs(w io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	section := func(title, body string) {
		if body == "" {
			body = "(nothing)\n"
		}
		fmt.Fprintf(w, "\n===== %s =====\n%s", title, body)
	}
	for _, l := range []struct {
		name  string
		lines int
	}{
		{"supervisor", 60}, {"kubelet", 150}, {"containerd", 80},
		{"kube-apiserver", 30}, {"kube-controller-manager", 30}, {"kube-scheduler", 20}, {"etcd", 20},
	} {
		section(l.name+" log (last lines of "+c.logPath(l.name)+")", tailFile(c.logPath(l.name), l.lines))
	}
	if c.sup != nil {
		for _, u := range []string{"containerd", "kubelet"} {
			r := c.sup.Systemctl("status", u)
			section("systemctl status "+u, r.Stdout+r.Stderr)
		}
	}
	if c.cp != nil {
		for _, args := range [][]string{
			{"get", "nodes,pods", "-A", "-o", "wide"},
			{"get", "events", "-A", "--sort-by=.lastTimestamp"},
		} {
			out, err := c.Kubectl(ctx, args...)
			if err != nil {
				out = err.Error()
			}
			section(fmt.Sprintf("kubectl %v", args), out+"\n")
		}
	}
	logs, _ := filepath.Glob("/var/log/pods/*/*/*.log")
	for _, l := range logs {
		section("pod log "+l, tailFile(l, 30))
	}
	// The installer's init containers in full: what `gcrcred node install`
	// and `uninstall` did, and why they failed.
	for _, l := range logs {
		if c := filepath.Base(filepath.Dir(l)); strings.HasPrefix(filepath.Base(filepath.Dir(filepath.Dir(l))), InstallerNamespace+"_") &&
			(c == "install" || c == "uninstall") {
			section("init container log "+l, tailFile(l, 300))
		}
	}
	if c.cp != nil {
		out, err := c.Kubectl(ctx, "-n", InstallerNamespace, "describe", "daemonsets,pods")
		if err != nil {
			out = err.Error()
		}
		section("kubectl -n "+InstallerNamespace+" describe daemonsets,pods", out+"\n")
	}
	if c.Google != nil {
		section("fake Google counters", fmt.Sprintf("token=%d sts=%d iam=%d metadata=%d\n",
			c.Google.Count("token"), c.Google.Count("sts"), c.Google.Count("iam"), c.Google.Count("metadata")))
	}
	if c.Registry != nil {
		section("fake registry counters", fmt.Sprintf("anonymous=%d token-ok=%d token-denied=%d denied=%d\n",
			c.Registry.Count("anonymous"), c.Registry.Count("token-ok"), c.Registry.Count("token-denied"), c.Registry.Count("denied")))
	}
}

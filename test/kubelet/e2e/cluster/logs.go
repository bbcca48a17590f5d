package cluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// InstallerNamespace is where deploy/ runs gcrcred's installer DaemonSets.
const InstallerNamespace = "gcrcred-system"

// DumpLogs writes what explains a failure: the ends of the journal of
// systemd, the kubelet and containerd, the units' status, kubeadm's output,
// the cluster's pods and events, each pod container's log (the control
// plane's too), and the fakes' counters.
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
		unit  string
		lines int
	}{{"init.scope", 40}, {"containerd", 60}, {"kubelet", 150}} {
		j, err := c.Journal(ctx, l.unit)
		if err != nil {
			j += err.Error() + "\n"
		}
		section(fmt.Sprintf("journalctl -b -u %s (last %d lines)", l.unit, l.lines), tail(j, l.lines))
	}
	for _, args := range [][]string{{"--failed"}, {"status", "containerd", "kubelet"}} {
		out, _ := c.Systemctl(ctx, append([]string{"--no-pager"}, args...)...)
		section(fmt.Sprintf("systemctl %v", args), out)
	}
	kubeadmLog, _ := os.ReadFile(c.path("kubeadm.log"))
	section("kubeadm output (last 40 lines)", tail(string(kubeadmLog), 40))
	if c.apiUp {
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
		b, _ := os.ReadFile(l)
		section("pod log "+l, tail(string(b), 30))
	}
	// The installer's init containers in full: what `gcrcred node install`
	// and `uninstall` did, and why they failed.
	for _, l := range logs {
		if c := filepath.Base(filepath.Dir(l)); strings.HasPrefix(filepath.Base(filepath.Dir(filepath.Dir(l))), InstallerNamespace+"_") &&
			(c == "install" || c == "uninstall") {
			b, _ := os.ReadFile(l)
			section("init container log "+l, tail(string(b), 300))
		}
	}
	if c.apiUp {
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

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n+1 {
		lines = lines[len(lines)-n-1:]
	}
	return strings.Join(lines, "")
}

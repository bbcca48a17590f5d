package minikube

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// kubeletState is what a node says about its kubelet.
type kubeletState struct {
	dropIn  string   // minikube's drop-in, exactly
	hasFile bool     // the drop-in exists
	running []string // the running kubelet's argv; nil if none runs
	active  bool     // systemd says the unit is active
}

const (
	markDropIn  = "@@gcrcred-dropin"
	markEnd     = "@@gcrcred-end"
	markCmdline = "@@gcrcred-cmdline"
	markActive  = "@@gcrcred-active"
)

// readKubelet reads the drop-in and the running kubelet's command line (from
// /proc: what systemd has loaded may differ from what runs).
func readKubelet(ctx context.Context, n Node) (*kubeletState, error) {
	script := `if [ -f ` + KubeletDropIn + ` ]; then echo ` + markDropIn + `; cat ` + KubeletDropIn + `; echo; echo ` + markEnd + `; fi
echo ` + markCmdline + `
for d in /proc/[0-9]*; do
	if [ "$(cat "$d/comm" 2>/dev/null)" = kubelet ]; then tr '\000' '\n' < "$d/cmdline"; break; fi
done
echo ` + markActive + `
systemctl is-active kubelet 2>/dev/null || true`
	out, err := n.Run(ctx, script)
	if err != nil {
		return nil, err
	}
	st := &kubeletState{}
	if i := strings.Index(out, markDropIn+"\n"); i >= 0 {
		rest := out[i+len(markDropIn)+1:]
		if j := strings.Index(rest, "\n"+markEnd+"\n"); j >= 0 {
			st.dropIn, st.hasFile = rest[:j], true
			out = rest[j:]
		}
	}
	section := ""
	for _, l := range strings.Split(out, "\n") {
		switch l = strings.TrimSpace(l); l {
		case markCmdline, markActive, markEnd:
			section = l
		case "":
		default:
			switch section {
			case markCmdline:
				st.running = append(st.running, l)
			case markActive:
				st.active = l == "active"
			}
		}
	}
	return st, nil
}

// setKubeletDropIn writes a new drop-in (and removes gcrcred's boot drop-in
// if asked), reloads systemd and restarts the kubelet. If the kubelet does
// not start, or does not stay up for settle, the old drop-in comes back and
// the kubelet is restarted with it: no node is left with a kubelet that
// will not run.
func setKubeletDropIn(ctx context.Context, n Node, newDropIn string, removeBootDropIn bool, settle time.Duration, precondition string) error {
	check := "systemctl is-active --quiet kubelet"
	if secs := int(settle.Round(time.Second) / time.Second); secs > 0 {
		// Type=simple: `restart` returns before a bad flag makes the kubelet exit.
		check = fmt.Sprintf("i=0; while [ $i -lt %d ]; do sleep 1; systemctl is-active --quiet kubelet || exit 1; i=$((i+1)); done", secs)
	}
	removeBoot := ""
	if removeBootDropIn {
		removeBoot = "rm -f " + NodeBootDropIn
	}
	script := `set -e
D=` + KubeletDropIn + `
` + precondition + `
cp -p "$D" "$D.gcrcred-old"
printf '%s' ` + shQuote(newDropIn) + ` > "$D.gcrcred-new"
chmod "$(stat -c %a "$D")" "$D.gcrcred-new"
mv -f "$D.gcrcred-new" "$D"
` + removeBoot + `
systemctl daemon-reload
if systemctl restart kubelet && (` + check + `); then
	rm -f "$D.gcrcred-old"
	exit 0
fi
echo "the kubelet did not stay up with the new flags; restoring the previous ones" >&2
mv -f "$D.gcrcred-old" "$D"
systemctl daemon-reload
systemctl restart kubelet || true
exit 1`
	if _, err := n.Run(ctx, script); err != nil {
		return fmt.Errorf("%w\n  (see `minikube -p PROFILE ssh -n %s -- sudo journalctl -u kubelet -n 50`)", err, n.Name())
	}
	return nil
}

// filesReadyCheck fails the flag change unless the kubelet would find what
// the flags name: it exits at start without them.
func filesReadyCheck() string {
	return `if [ ! -s ` + NodeProviderConfig + ` ] || [ ! -x ` + NodeBinary + ` ]; then
	echo "` + NodeProviderConfig + ` or ` + NodeBinary + ` is missing: the kubelet would not start with the flags" >&2
	exit 1
fi`
}

package flavour

import (
	"fmt"
	"strings"

	"github.com/gcrcred/gcrcred/internal/kubeletunit"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/internal/noderoot"
)

// Check sets Untrusted and Mismatch: what makes install change nothing.
func (s *Setup) Check(r *noderoot.Root) {
	s.Untrusted = trustedPaths(r, s)
	s.Mismatch = compareRunning(s)
}

// trustedPaths checks that only root can change anything on the way to
// the bin dir, the plugin in it and the provider config.
func trustedPaths(r *noderoot.Root, s *Setup) error {
	for _, p := range []string{s.Plugin(), s.Config} {
		if err := r.CheckPath(p); err != nil {
			return err
		}
	}
	return nil
}

// compareRunning says how the running kubelet's provider flags differ
// from what the files give it ("" if they do not): a flag the files lack
// or set otherwise means a set-up gcrcred cannot see, so install changes
// nothing. A kubelet without them (not restarted since the files gained
// them) is no mismatch, nor, where gcrcred adds its own flags, a kubelet
// running with exactly those (a flags file edited since: install puts
// them back).
func compareRunning(s *Setup) string {
	p := s.Kubelet.Proc
	if p == nil || s.Service.Embedded {
		return ""
	}
	var bad []string
	for _, key := range []string{nodelayout.FlagProviderConfig, nodelayout.FlagProviderBinDir} {
		rv, ok := kubeletunit.FlagIn(p.Args, key)
		if !ok {
			continue
		}
		fv, fok := kubeletunit.Lookup(s.FileFlags, key)
		if fok && fv == rv {
			continue
		}
		if s.Flags != nil {
			if ov, _ := kubeletunit.Lookup(nodelayout.KubeletFlags(), key); ov == rv {
				continue
			}
		}
		want := "nothing"
		if fok {
			want = fv
		}
		bad = append(bad, fmt.Sprintf("--%s=%s (the files give %s)", key, rv, want))
	}
	if len(bad) == 0 {
		return ""
	}
	name := s.Service.Name
	return fmt.Sprintf("the running kubelet (pid %d of %s.service) has %s: it was started with flags its unit files do not give it; restart it (`systemctl restart %s`) or fix the files, and rerun", p.PID, name, strings.Join(bad, ", "), name)
}

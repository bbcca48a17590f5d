package engine

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/gcrcred/gcrcred/internal/dockerconfig"
	"github.com/gcrcred/gcrcred/node/internal/dockercfg"
	"github.com/gcrcred/gcrcred/node/internal/record"
)

// printPlan says what install would do, changing nothing.
func (in *run) printPlan(items []item, dirs []dirSpec, missing []string) {
	out := in.n.out
	fmt.Fprintln(out, "plan (--dry-run: nothing is changed):")
	planned := map[string]bool{}
	for _, d := range dirs {
		in.planDirs(planned, d.path, d.mode, d.uid, d.gid)
	}
	restart := false
	for _, it := range items {
		restart = in.planItem(planned, it) || restart
	}
	in.restartFiles = restart
	if why := in.restartReason(); why != "" {
		fmt.Fprintf(out, "  restart   %s (systemctl restart %s), then check it stays up for %s; if not, put everything back\n", in.s.Service.Name, in.s.Service.Name, in.o.Settle)
	}
	for _, name := range in.o.DockerUsers {
		if u, ok := in.r.LookupUser(name); ok {
			fmt.Fprintf(out, "  docker    %s: credHelpers for %s -> gcrcred\n", dockercfg.ConfigFile(u), strings.Join(dockerconfig.DefaultHosts, ", "))
		}
	}
	for _, m := range missing {
		fmt.Fprintf(out, "  missing: %s\n", m)
	}
	fmt.Fprintln(out, "dry run: nothing was changed")
}

// planDirs prints the directories p needs that are not there yet (and not
// printed yet): p with its own mode and owner, its parents 0755 root's.
func (in *run) planDirs(planned map[string]bool, p string, mode fs.FileMode, uid, gid int) {
	missing, _ := in.missingDirs(p)
	for _, m := range missing {
		if planned[m] {
			continue
		}
		planned[m] = true
		if m != p {
			mode, uid, gid = 0o755, 0, 0
		}
		fmt.Fprintf(in.n.out, "  new dir   %s  %04o %s\n", m, mode, in.r.OwnerName(uid, gid))
	}
}

// planItem prints what install would do with one file, and reports
// whether that restarts the kubelet.
func (in *run) planItem(planned map[string]bool, it item) (restart bool) {
	out := in.n.out
	cur, err := in.r.ReadState(it.path)
	switch {
	case err != nil:
		fmt.Fprintf(out, "  cannot read %s: %v\n", it.path, err)
		return false
	case it.remove:
		if cur.Exists {
			fmt.Fprintf(out, "  remove    %s  (no longer asked for)\n", it.path)
		}
		return cur.Exists
	}
	in.planDirs(planned, path.Dir(it.path), 0o755, 0, 0)
	want := wantState(it, cur)
	switch {
	case it.content == nil:
		fmt.Fprintf(out, "  MISSING   %s  (see below)\n", it.path)
		return false
	case cur.Same(want):
		fmt.Fprintf(out, "  unchanged %s\n", it.path)
		return false
	}
	changed := !bytes.Equal(cur.Content, want.Content) || !cur.Exists
	fmt.Fprintf(out, "  %s\n", in.describe(it, cur, want, record.Sum(want.Content), changed))
	return changed && (it.restart || it.unit || it.role == record.RoleFlags)
}

package node

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/gcrcred/gcrcred/internal/dockerconfig"
	"github.com/gcrcred/gcrcred/internal/providerconfig"
	"github.com/gcrcred/gcrcred/provider"
)

// plan lists the directories and files install wants, in order (the flags
// last), and what it lacks to write them.
func (in *installer) plan() ([]item, []dirSpec, []string) {
	s, r, o := in.s, in.r, in.o
	var missing []string
	var items []item

	binary, err := in.binary()
	if err != nil {
		missing = append(missing, err.Error())
	}
	pluginPath := path.Join(s.binDir, provider.ProviderName)
	items = append(items, item{path: pluginPath, mode: 0o755, content: binary, restart: true, role: roleFile})
	if s.wrappers || len(o.dockerUsers) > 0 {
		items = append(items,
			item{path: Command, mode: 0o755, content: wrapper(pluginPath), role: roleFile},
			item{path: DockerHelper, mode: 0o755, content: wrapper(pluginPath), role: roleFile})
	}

	creds, err := in.credentials()
	if err != nil {
		missing = append(missing, err.Error())
	}
	if creds != nil || err != nil {
		mode, gid := credentialsAccessFor(r, o.dockerUsers)
		items = append(items, item{path: Credentials, mode: mode, gid: gid, content: creds, role: roleFile})
	}

	copts := configOptions{registries: o.registries}
	if o.pod.On() {
		data, err := o.pod.Read()
		if err != nil {
			missing = append(missing, err.Error())
		}
		if problem, _ := podIdentityKubelet(r, s); problem != "" {
			missing = append(missing, problem)
		}
		if problem, _ := o.pod.imageCacheProblem(r, s); problem != "" {
			missing = append(missing, problem)
		}
		copts.pod = o.pod.config(data)
		items = append(items, item{path: WorkloadIdentity, mode: WorkloadIdentityMode, content: data, restart: true, role: roleFile})
	} else if rec, _, _ := loadRecord(r); rec != nil && rec.file(WorkloadIdentity) != nil ||
		rec == nil && s.flavour == FlavourMinikube && r.Exists(WorkloadIdentity) {
		// Per-pod identity was on: its configuration goes with it (on a
		// minikube VM node, whose record went with its RAM root at a
		// reboot and file sync brought the file back, it is gcrcred's by
		// name).
		items = append(items, item{path: WorkloadIdentity, remove: true, restart: true, role: roleFile})
	}
	var config []byte
	role := roleConfig
	switch {
	case s.configDir != "":
		copts.apiVersion = dirAPIVersion(r, s.configDir)
		config, err = wholeConfig(copts)
	case s.flavour == FlavourProviderConfig || s.flavour == FlavourK3s || s.flavour == FlavourRKE2:
		cur, rerr := readState(r, s.config)
		if rerr != nil {
			err = rerr
			break
		}
		config, err = renderConfig(cur.content, cur.exists, s.config, copts)
	default:
		role = roleFile // gcrcred's own file, behind gcrcred's own flags
		config, err = wholeConfig(copts)
	}
	if errors.Is(err, providerconfig.ErrNoTokenAttributes) {
		err = fmt.Errorf("%s: the kubelet reads an older provider config version than per-pod identity needs (%v): install without --workload-identity, or upgrade the kubelet and its provider config", s.config, err)
	}
	if err != nil {
		missing = append(missing, err.Error())
	}
	items = append(items, item{path: s.config, mode: 0o644, content: config, restart: true, role: role, edited: role == roleConfig})

	if s.bootDropIn {
		items = append(items, item{path: BootDropIn, mode: 0o644, content: bootDropIn(o.dockerUsers), unit: true, role: roleBoot})
	}
	if s.flagsFile != "" {
		flags, err := in.flagsContent()
		if err != nil {
			missing = append(missing, err.Error())
		}
		items = append(items, item{path: s.flagsFile, mode: 0o644, content: flags, unit: s.unitFlags(), role: roleFlags, edited: true})
	}

	return items, cacheDirSpecs(r, o.dockerUsers), missing
}

// printPlan says what install would do, changing nothing.
func (in *installer) printPlan(items []item, dirs []dirSpec, missing []string) {
	out := in.n.out
	fmt.Fprintln(out, "plan (--dry-run: nothing is changed):")
	planned := map[string]bool{}
	newDirs := func(p string, mode fs.FileMode, uid, gid int) {
		missing, _ := in.missingDirs(p)
		for _, m := range missing {
			if planned[m] {
				continue
			}
			planned[m] = true
			if m != p {
				mode, uid, gid = 0o755, 0, 0
			}
			fmt.Fprintf(out, "  new dir   %s  %04o %s\n", m, mode, ownerName(in.r, uid, gid))
		}
	}
	for _, d := range dirs {
		newDirs(d.path, d.mode, d.uid, d.gid)
	}
	restart := false
	for _, it := range items {
		cur, err := readState(in.r, it.path)
		if err != nil {
			fmt.Fprintf(out, "  cannot read %s: %v\n", it.path, err)
			continue
		}
		if it.remove {
			if cur.exists {
				restart = true
				fmt.Fprintf(out, "  remove    %s  (no longer asked for)\n", it.path)
			}
			continue
		}
		newDirs(path.Dir(it.path), 0o755, 0, 0)
		want := wantState(it, cur)
		if it.content == nil {
			fmt.Fprintf(out, "  MISSING   %s  (see below)\n", it.path)
			continue
		}
		if sameFile(cur, want) {
			fmt.Fprintf(out, "  unchanged %s\n", it.path)
			continue
		}
		changed := !bytes.Equal(cur.content, want.content) || !cur.exists
		restart = restart || changed && (it.restart || it.unit || it.role == roleFlags)
		fmt.Fprintf(out, "  %s\n", describe(in.r, it, cur, want, changed))
	}
	in.restartFiles = restart
	if why := in.restartReason(); why != "" {
		fmt.Fprintf(out, "  restart   %s (systemctl restart %s), then check it stays up for %s; if not, put everything back\n", in.s.service, in.s.service, in.o.settle)
	}
	for _, name := range in.o.dockerUsers {
		if u, ok := lookupUser(in.r, name); ok {
			fmt.Fprintf(out, "  docker    %s: credHelpers for %s -> gcrcred\n", path.Join(u.home, ".docker", "config.json"), strings.Join(dockerconfig.DefaultHosts, ", "))
		}
	}
	for _, m := range missing {
		fmt.Fprintf(out, "  missing: %s\n", m)
	}
	fmt.Fprintln(out, "dry run: nothing was changed")
}

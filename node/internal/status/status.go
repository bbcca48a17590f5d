// Package status is `gcrcred node status`: the node checked, reading only
// and executing nothing found on it, as root or as another user (the
// DaemonSet's readiness probe runs it unprivileged on a read-only /host);
// what only root may read is skipped with a note, or checked against the
// set-up install recorded.
package status

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/gcrcred/gcrcred/internal/dockerconfig"
	"github.com/gcrcred/gcrcred/internal/kubeletunit"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/internal/podidentity"
	"github.com/gcrcred/gcrcred/internal/providerconfig"
	"github.com/gcrcred/gcrcred/internal/version"
	"github.com/gcrcred/gcrcred/node/internal/dockercfg"
	"github.com/gcrcred/gcrcred/node/internal/flavour"
	"github.com/gcrcred/gcrcred/node/internal/kubelet"
	"github.com/gcrcred/gcrcred/node/internal/record"
)

// report prints status lines and counts the problems.
type report struct {
	out      io.Writer
	problems int
}

func (r *report) line(mark, what, detail string) {
	fmt.Fprintf(r.out, "  %-7s %s: %s\n", mark, what, detail)
}

func (r *report) check(ok bool, what, detail string) {
	if ok {
		r.line("ok", what, detail)
		return
	}
	r.problems++
	r.line("PROBLEM", what, detail)
}

// Check checks the node at r, printing a line per check; ok is true only
// if all is well.
func Check(r *noderoot.Root, out io.Writer) bool {
	rep := &report{out: out}
	s, err := flavour.Detect(r, isRoot())
	recorded := false
	if err != nil && errors.Is(err, fs.ErrPermission) && !isRoot() {
		s, recorded = recordedSetupOf(r, err)
	}
	if s == nil {
		rep.check(false, "kubelet set-up", err.Error())
		return rep.summary()
	}
	if recorded {
		fmt.Fprintf(out, "kubelet set-up: %s (%s; as install recorded it in %s: %v, which only root may read)\n", s.Flavour, s.Evidence, nodelayout.InstalledFile, err)
	} else {
		fmt.Fprintf(out, "kubelet set-up: %s (%s)\n", s.Flavour, s.Evidence)
	}
	if s.Untrusted != nil {
		rep.check(false, "paths", s.Untrusted.Error())
	}
	binaryStatus(r, s, rep)
	config := configStatus(r, s, rep)
	kubeletStatus(r, s, rep)
	pod := providerconfig.PodSettingsOf([]byte(config))
	credentialsStatus(r, rep, pod)
	if pod != nil {
		podIdentityStatus(r, rep, pod)
	}
	dockerStatus(r, s, rep)
	return rep.summary()
}

// isRoot reports whether this process may read what only root may.
func isRoot() bool { return os.Geteuid() == 0 }

// configStatus: the provider config is one the kubelet reads, with
// gcrcred's provider in it; it returns what it holds.
func configStatus(r *noderoot.Root, s *flavour.Setup, rep *report) string {
	config, err := r.ReadText(s.Config)
	configOK := err == nil
	detail := s.Config
	if err == nil {
		if doc, perr := providerconfig.Parse([]byte(config), s.Config); perr != nil {
			configOK, detail = false, perr.Error()
		} else if !doc.Has() {
			configOK, detail = false, s.Config+" has no provider "+nodelayout.PluginName
		} else {
			detail += " (providers: " + strings.Join(doc.Names(), ", ") + ")"
		}
	} else {
		detail = fmt.Sprintf("%s cannot be read: %v", s.Config, err)
	}
	rep.check(configOK, "provider config", detail)
	return config
}

// recordedSetupOf is the set-up install recorded, for a status that is
// not root and could not read what detection reads (why); nil if there is
// none. The running kubelet is still found from the node's processes.
func recordedSetupOf(r *noderoot.Root, why error) (*flavour.Setup, bool) {
	in, err := record.LoadInstalled(r)
	if err != nil || in == nil || in.Setup == nil {
		return nil, false
	}
	s := in.Setup.FlavourSetup()
	if s.Kubelet, err = kubelet.Find(r, &s.Service, false); err != nil {
		s.Kubelet.Note = err.Error()
	}
	s.Check(r)
	return s, true
}

// binaryStatus: the plugin is a regular file only root can change, and is
// the one install recorded (sha256); its version comes from that record,
// or without one from the build information in the file. It is never run.
func binaryStatus(r *noderoot.Root, s *flavour.Setup, rep *report) {
	plugin := s.Plugin()
	f, info, err := r.OpenFile(plugin)
	if err != nil {
		rep.check(false, "binary", fmt.Sprintf("%v: `gcrcred node install` installs it again", err))
		return
	}
	defer f.Close()
	if err := noderoot.CheckTrusted(plugin, info); err != nil {
		rep.check(false, "binary", err.Error())
		return
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, noderoot.MaxBinary)); err != nil {
		rep.check(false, "binary", fmt.Sprintf("reading %s: %v", plugin, err))
		return
	}
	got := hex.EncodeToString(h.Sum(nil))
	rec, err := record.LoadInstalled(r)
	switch {
	case err != nil:
		rep.check(false, "binary", err.Error())
	case rec != nil && rec.Path == plugin && rec.SHA256 != got:
		rep.check(false, "binary", fmt.Sprintf("%s (sha256:%s) is not the binary install put there (sha256:%s, %s): `gcrcred node install` installs it again", plugin, got[:12], rec.SHA256[:min(12, len(rec.SHA256))], rec.Version))
	case rec != nil && rec.Path == plugin:
		rep.check(true, "binary", fmt.Sprintf("%s: %s (sha256:%s, as installed)", plugin, rec.Version, got[:12]))
	default:
		v, err := version.OfReaderAt(f, plugin)
		if err != nil {
			rep.check(false, "binary", fmt.Sprintf("%v; and %s records no install: `gcrcred node install` installs it again", err, nodelayout.InstalledFile))
			return
		}
		rep.check(true, "binary", fmt.Sprintf("%s: %s (sha256:%s; %s records no install, the version is the file's build information)", plugin, v, got[:12], nodelayout.InstalledFile))
	}
}

func (r *report) summary() bool {
	if r.problems > 0 {
		fmt.Fprintf(r.out, "%d problem(s): `gcrcred node install` sets it up again\n", r.problems)
		return false
	}
	fmt.Fprintln(r.out, "all well")
	return true
}

// kubeletStatus: running, with the flags, started after its provider
// config and plugin were written, and the flags kept where they live.
func kubeletStatus(r *noderoot.Root, s *flavour.Setup, rep *report) {
	p := s.Kubelet.Proc
	const what = "kubelet"
	name := s.Service.Name
	switch {
	case p == nil && s.Kubelet.Note != "":
		rep.check(false, what, s.Kubelet.Note)
		return
	case p == nil:
		rep.check(false, what, fmt.Sprintf("no kubelet of %s.service runs: `systemctl status %s` says why", name, name))
		return
	case s.Mismatch != "":
		rep.check(false, what, s.Mismatch)
		return
	case s.RunningFlags != nil && !kubeletunit.HasFlags(p.Args, s.RunningFlags):
		rep.check(false, what, fmt.Sprintf("pid %d runs without %s: `gcrcred node install` adds them and restarts it", p.PID, kubeletunit.FlagList(s.RunningFlags)))
		return
	}
	if stale, f := kubelet.StartedBefore(r, p, s.Config, s.Plugin()); stale {
		rep.check(false, what, fmt.Sprintf("kubelet started before its current provider config: restart it (`systemctl restart %s`; %s changed after it started)", name, f))
		return
	}
	if !flagsKept(r, s, rep) {
		return
	}
	detail := fmt.Sprintf("pid %d", p.PID)
	if s.RunningFlags != nil {
		detail += " runs with " + kubeletunit.FlagList(s.RunningFlags)
	} else {
		detail += " (" + name + ") runs its kubelet with " + s.Config + " and " + s.BinDir
	}
	rep.check(true, what, detail+", started after its provider config and plugin were written")
}

// flagsKept reports whether the flags file still gives the kubelet
// gcrcred's flags (a problem if not); a status that is not root and may
// not read it says so and goes on.
func flagsKept(r *noderoot.Root, s *flavour.Setup, rep *report) bool {
	f := s.Flags
	if f == nil {
		return true
	}
	c, err := r.ReadText(f.Path)
	if errors.Is(err, fs.ErrPermission) && !isRoot() {
		rep.line("skipped", "kubelet flags file", f.Path+" is root's alone: run status as root to check that the flags survive a restart")
		return true
	}
	ours := nodelayout.KubeletFlags()
	if err != nil || !kubeletunit.HasFlags(f.Args(c), ours) {
		rep.check(false, "kubelet", fmt.Sprintf("%s lacks %s: the next restart drops them; `gcrcred node install` puts them back", f.Path, kubeletunit.FlagList(ours)))
		return false
	}
	return true
}

// credentialsStatus: present, root's, never readable by others; with
// per-pod identity the node may have none.
func credentialsStatus(r *noderoot.Root, rep *report, pod *providerconfig.PodSettings) {
	fi, err := r.Lstat(nodelayout.Credentials)
	switch {
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		rep.check(false, "credentials", err.Error())
		return
	case err != nil && pod != nil && pod.Require:
		rep.check(true, "credentials", "none on the node, and none needed: pods without a service-account token are refused")
		return
	case err != nil && pod != nil:
		rep.check(true, "credentials", "none on the node: pods without a service-account token (static pods) get no credentials from gcrcred")
		return
	case err != nil:
		rep.check(false, "credentials", nodelayout.Credentials+" is missing: `gcrcred node install --credentials FILE`")
		return
	}
	ok := fi.IsRegular() && fi.Mode.Perm()&0o007 == 0 && fi.UID == 0
	rep.check(ok, "credentials", fmt.Sprintf("%s %04o %s (never readable by others)", nodelayout.Credentials, fi.Mode.Perm(), r.OwnerName(fi.UID, fi.GID)))
}

// podIdentityStatus: the workload identity configuration the provider
// config names is there, root's, written by no one else, and one
// get-credentials reads.
func podIdentityStatus(r *noderoot.Root, rep *report, pod *providerconfig.PodSettings) {
	const what = "per-pod identity"
	if pod.File == "" {
		rep.check(false, what, "the provider config has tokenAttributes, but names no workload identity configuration: `gcrcred node install --workload-identity FILE` installs it")
		return
	}
	b, fi, err := r.ReadFile(pod.File, noderoot.MaxText)
	if errors.Is(err, fs.ErrNotExist) {
		rep.check(false, what, fmt.Sprintf("the provider config has tokenAttributes, but its workload identity configuration %q is missing: `gcrcred node install --workload-identity FILE` installs it", pod.File))
		return
	}
	if err != nil {
		rep.check(false, what, err.Error())
		return
	}
	if !fi.Trusted() {
		rep.check(false, what, fmt.Sprintf("%s is %04o %s: only root may write it (it says which pool pods' tokens are exchanged at)", pod.File, fi.Mode.Perm(), r.OwnerName(fi.UID, fi.GID)))
		return
	}
	err = providerconfig.CheckWorkloadIdentityConfig(b, pod.File)
	if err != nil {
		rep.check(false, what, err.Error())
		return
	}
	var f struct {
		Audience string `json:"audience"`
	}
	json.Unmarshal(b, &f)
	mode, err := podidentity.ParseMode(pod.Mode)
	if err != nil {
		rep.check(false, what, fmt.Sprintf("the provider config's %s: %v", podidentity.EnvMode, err))
		return
	}
	who := "service accounts annotated " + podidentity.AnnotationKey + " or " + podidentity.EnableAnnotationKey + "=true pull as themselves"
	without := "the others get the node's credentials"
	if mode == podidentity.ModeAll {
		who, without = "every pod with a token pulls as itself", "pods without one get the node's credentials"
	}
	if pod.Require {
		without = "any other pod gets none (requireServiceAccount)"
	}
	rep.check(true, what, fmt.Sprintf("tokens for audience %q, exchanged with %s (pool provider %s); %s mode: %s, %s; the API server must let kubelets request this audience (RBAC %s)",
		pod.Audience, pod.File, f.Audience, mode, who, without, podidentity.RBACName))
}

// dockerStatus: each Docker user's config sends gcr.io to gcrcred.
func dockerStatus(r *noderoot.Root, s *flavour.Setup, rep *report) {
	users := s.DockerUsers // the record is root's, or lost with a VM's RAM root
	if rec, _, err := record.Load(r); err == nil && rec != nil {
		users = rec.DockerUsers
	}
	if len(users) == 0 {
		return
	}
	if !isRoot() {
		rep.line("skipped", "docker", "not root: the Docker configs of "+strings.Join(users, ", ")+" are their own")
		return
	}
	var bad []string
	for _, name := range users {
		u, ok := r.LookupUser(name)
		if !ok {
			continue
		}
		helpers := map[string]string{}
		f, err := dockercfg.Open(r, u, false)
		if err == nil && f != nil {
			helpers, err = f.CredHelpers()
			f.Close()
		}
		if err != nil || helpers["gcr.io"] != dockerconfig.HelperName {
			bad = append(bad, name)
		}
	}
	if len(bad) > 0 {
		rep.check(false, "docker", strings.Join(bad, " and ")+": config.json does not send gcr.io to gcrcred")
		return
	}
	rep.check(true, "docker", "the config.json of "+strings.Join(users, " and ")+" sends gcr.io to gcrcred")
}

package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/internal/dockerconfig"
	"github.com/gcrcred/gcrcred/internal/fileowner"
	"github.com/gcrcred/gcrcred/internal/nodeexec"
	"github.com/gcrcred/gcrcred/provider"
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

// status checks the node, reading only: as a user other than root too (the
// DaemonSet's readiness probe runs it unprivileged on a read-only /host);
// what only root may read is skipped with a note.
func status(ctx context.Context, o options, out io.Writer) (bool, error) {
	r := nodeexec.Root{Dir: o.root}
	rep := &report{out: out}
	isRoot := os.Geteuid() == 0
	s, err := detect(r)
	if err != nil {
		rep.check(false, "kubelet set-up", err.Error())
		return rep.summary(), nil
	}
	fmt.Fprintf(out, "kubelet set-up: %s (%s)\n", s.flavour, s.evidence)

	plugin := path.Join(s.binDir, provider.ProviderName)
	v, err := runNodeBinary(ctx, r, plugin, isRoot, nil, "version")
	rep.check(err == nil, "binary", orError(plugin, firstLine(v), err))

	config, err := readNodeFile(r, s.config)
	configOK := err == nil
	detail := s.config
	if err == nil {
		if doc, perr := parseConfig([]byte(config), s.config); perr != nil {
			configOK, detail = false, perr.Error()
		} else if !slices.Contains(doc.names(), provider.ProviderName) {
			configOK, detail = false, s.config+" has no provider "+provider.ProviderName
		} else {
			detail += " (providers: " + strings.Join(doc.names(), ", ") + ")"
		}
	} else {
		detail = s.config + " is missing"
	}
	rep.check(configOK, "provider config", detail)

	kubeletStatus(r, s, rep)
	pod := podSettingsOf([]byte(config))
	hasKey := credentialsStatus(r, rep, pod)
	if pod != nil {
		podIdentityStatus(r, rep, pod)
	}
	dockerStatus(r, s, isRoot, rep)

	switch {
	case !hasKey && pod != nil:
		rep.line("skipped", "token", "no node key: tokens are minted from pods' service-account tokens when they pull")
	case !isRoot:
		rep.line("skipped", "token", "not root: the credentials are root's; run status as root to mint a token on the node")
	default:
		env := append([]string{"HOME=/root", "PATH=" + nodeexec.DefaultPath}, providerEnv([]byte(config))...)
		doctor, err := runNodeBinary(ctx, r, plugin, true, env, "doctor")
		detail := "minted on the node (`gcrcred doctor` with the kubelet's environment)"
		if err != nil {
			detail = fmt.Sprintf("`gcrcred doctor` with the kubelet's environment failed (%v): %s", err, cli.Squeeze(doctor, 800))
		}
		rep.check(err == nil, "token", detail)
	}
	return rep.summary(), nil
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
func kubeletStatus(r nodeexec.Root, s *setup, rep *report) {
	p := findProcess(r, s.kubeletComm...)
	what := "kubelet"
	switch {
	case p == nil:
		rep.check(false, what, fmt.Sprintf("no %s process runs: `systemctl status %s` says why", strings.Join(s.kubeletComm, " or "), s.service))
		return
	case s.runningFlags != nil && !hasFlags(p.args, s.runningFlags):
		rep.check(false, what, fmt.Sprintf("pid %d runs without %s: `gcrcred node install` adds them and restarts it", p.pid, flagList(s.runningFlags)))
		return
	}
	if stale, f := startedBefore(r, p, s); stale {
		rep.check(false, what, fmt.Sprintf("kubelet started before its current provider config: restart it (`systemctl restart %s`; %s changed after it started)", s.service, f))
		return
	}
	if s.flagsFile != "" {
		c, err := readNodeFile(r, s.flagsFile)
		var args []string
		if s.flagsVar == "" {
			es, _ := effectiveExecStart(c)
			args = splitCommand(es.value)
		} else {
			args = splitCommand(parseEnvFile(c)[s.flagsVar])
		}
		if err != nil || !hasFlags(args, KubeletFlags()) {
			rep.check(false, what, fmt.Sprintf("%s lacks %s: the next restart drops them; `gcrcred node install` puts them back", s.flagsFile, flagList(KubeletFlags())))
			return
		}
	}
	detail := fmt.Sprintf("pid %d", p.pid)
	if s.runningFlags != nil {
		detail += " runs with " + flagList(s.runningFlags)
	} else {
		detail += " (" + s.service + ") runs its kubelet with " + s.config + " and " + s.binDir
	}
	rep.check(true, what, detail+", started after its provider config and plugin were written")
}

// credentialsStatus: present, root's, never readable by others; with
// per-pod identity the node may have none. It reports whether it has one.
func credentialsStatus(r nodeexec.Root, rep *report, pod *podSettings) bool {
	hp, err := r.Path(Credentials)
	if err != nil {
		rep.check(false, "credentials", err.Error())
		return false
	}
	fi, err := os.Lstat(hp)
	switch {
	case err != nil && pod != nil && pod.require:
		rep.check(true, "credentials", "none on the node, and none needed: pods without a service-account token are refused")
		return false
	case err != nil && pod != nil:
		rep.check(true, "credentials", "none on the node: pods without a service-account token (static pods) get no credentials from gcrcred")
		return false
	case err != nil:
		rep.check(false, "credentials", Credentials+" is missing: `gcrcred node install --credentials FILE`")
		return false
	}
	uid, gid, _ := fileowner.Of(fi)
	ok := fi.Mode().IsRegular() && fi.Mode().Perm()&0o007 == 0 && uid == 0
	rep.check(ok, "credentials", fmt.Sprintf("%s %04o %s (never readable by others)", Credentials, fi.Mode().Perm(), ownerName(r, uid, gid)))
	return true
}

// podIdentityStatus: the workload identity configuration the provider
// config names is there, root's, written by no one else, and one
// get-credentials reads.
func podIdentityStatus(r nodeexec.Root, rep *report, pod *podSettings) {
	const what = "per-pod identity"
	hp, err := r.Resolve(pod.file)
	var fi os.FileInfo
	if err == nil {
		fi, err = os.Stat(hp)
	}
	if err != nil || pod.file == "" {
		rep.check(false, what, fmt.Sprintf("the provider config has tokenAttributes, but its workload identity configuration %q is missing: `gcrcred node install --workload-identity FILE` installs it", pod.file))
		return
	}
	uid, gid, _ := fileowner.Of(fi)
	if uid != 0 || fi.Mode().Perm()&0o022 != 0 {
		rep.check(false, what, fmt.Sprintf("%s is %04o %s: only root may write it (it says which pool pods' tokens are exchanged at)", pod.file, fi.Mode().Perm(), ownerName(r, uid, gid)))
		return
	}
	b, err := os.ReadFile(hp)
	if err == nil {
		err = provider.CheckWorkloadIdentityConfig(b, pod.file)
	}
	if err != nil {
		rep.check(false, what, err.Error())
		return
	}
	var f struct {
		Audience string `json:"audience"`
	}
	json.Unmarshal(b, &f)
	without := "the node's credentials"
	if pod.require {
		without = "none (requireServiceAccount)"
	}
	rep.check(true, what, fmt.Sprintf("tokens for audience %q, exchanged with %s (pool provider %s); pods without a token get %s; the API server must let kubelets request this audience (RBAC)",
		pod.audience, pod.file, f.Audience, without))
}

// dockerStatus: each Docker user's config sends gcr.io to gcrcred.
func dockerStatus(r nodeexec.Root, s *setup, isRoot bool, rep *report) {
	var users []string
	rec, _, err := loadRecord(r)
	switch {
	case err == nil && rec != nil:
		users = rec.DockerUsers
	case s.flavour == FlavourMinikube:
		users = MinikubeDockerUsers // the record is root's, or lost with a VM's RAM root
	}
	if len(users) == 0 {
		return
	}
	if !isRoot {
		rep.line("skipped", "docker", "not root: the Docker configs of "+strings.Join(users, ", ")+" are their own")
		return
	}
	var bad []string
	for _, name := range users {
		u, ok := lookupUser(r, name)
		if !ok {
			continue
		}
		helpers := map[string]string{}
		f, err := openDockerConfig(r, dockerConfigFile(u), false)
		if err == nil {
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

// runNodeBinary runs a node's program: as root, inside the node's root
// (chrooted under --root) with env; as another user, directly (no chroot
// without root) with an empty environment.
func runNodeBinary(ctx context.Context, r nodeexec.Root, p string, isRoot bool, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var out bytes.Buffer
	if isRoot {
		if env == nil {
			env = []string{"PATH=" + nodeexec.DefaultPath}
		}
		err := r.Command(ctx, p, args...).SetEnv(env...).SetStdout(&out).SetStderr(&out).Run()
		return out.String(), err
	}
	hp, err := r.Resolve(p)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, hp, args...)
	cmd.Env, cmd.Dir = []string{"PATH=" + nodeexec.DefaultPath}, "/"
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

func orError(p, s string, err error) string {
	if err != nil {
		return fmt.Sprintf("%s does not run (%v): `gcrcred node install` installs it again", p, err)
	}
	return p + ": " + s
}

package kubelet

import (
	"debug/buildinfo"
	"fmt"
	"os"
	"path"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/gcrcred/gcrcred/internal/kubeletunit"
	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/internal/yamlfile"
)

// The kubelet's version and the features that keep images apart, read
// from the node's files (root's only, opened under the root), never by
// running the kubelet: `node install` runs nothing it finds on the node.
//
// Per-pod identity keeps a team's image from another team's pods only if
// the kubelet checks, before it runs an image already on the node, that
// the new pod's service account may pull it (KubeletEnsureSecretPulledImages:
// alpha in 1.33, on by default from 1.35). Without it a pod of any service
// account runs any image another one pulled, with imagePullPolicy
// IfNotPresent.

// ensureGate is the kubelet feature gate that re-checks credentials for
// images already on the node.
const ensureGate = "KubeletEnsureSecretPulledImages"

// ensureDefaultMinor is the first kubelet minor version with ensureGate on
// by default.
const ensureDefaultMinor = 35

// dpkgStatus is where Debian's packages (the kubelet package of
// pkgs.k8s.io) are recorded.
const dpkgStatus = "/var/lib/dpkg/status"

// Version is the node's kubelet version and the file that says so, or ""
// with the files tried: what the set-up's own files say (kind's
// /kind/version, minikube's binaries directory), the Go build information
// of the running kubelet's program (p, if known) or of the unit's binary
// (the module k8s.io/kubernetes it was built from, or the version stamped
// with -ldflags), the kubelet package in dpkg's status.
func Version(r *noderoot.Root, s *Service, p *Process) (version, from string, tried []string) {
	switch {
	case s.Version.Version != "":
		return s.Version.Version, s.Version.From, nil
	case s.Version.From != "":
		tried = append(tried, s.Version.From)
	}
	if p != nil {
		what := fmt.Sprintf("the Go build information of the running kubelet's program (pid %d)", p.PID)
		if v := runningVersion(r, p.PID); v != "" {
			return v, what, nil
		}
		tried = append(tried, what)
	}
	if bin := s.ExecBinary; path.IsAbs(bin) {
		if v := binaryVersion(r, bin); v != "" {
			return v, "the Go build information of " + bin, nil
		}
		tried = append(tried, "the Go build information of "+bin)
	}
	if s.ExecBinary == "/usr/bin/kubelet" {
		if c, err := r.ReadTrusted(dpkgStatus); err == nil {
			if v := dpkgVersion(c, "kubelet"); v != "" {
				return v, dpkgStatus + " (package kubelet)", nil
			}
		}
		tried = append(tried, dpkgStatus)
	}
	return "", "", tried
}

// runningVersion reads the Kubernetes version of the program process pid
// runs, through <root>/proc/PID/exe (the file itself, wherever a link put
// it), "" if it does not say or is not root's alone.
func runningVersion(r *noderoot.Root, pid int) string {
	proc, err := r.OpenDir("/proc")
	if err != nil {
		return ""
	}
	defer proc.Close()
	d, err := proc.OpenDir(strconv.Itoa(pid))
	if err != nil {
		return ""
	}
	defer d.Close()
	f, info, err := d.OpenLinkTarget("exe")
	if err != nil {
		return ""
	}
	defer f.Close()
	return goBinaryVersion(f, info)
}

// binaryVersion reads the Kubernetes version a Go binary was built as, ""
// if it does not say or is not root's alone.
func binaryVersion(r *noderoot.Root, bin string) string {
	p := r.UsrMerged(bin)
	if r.CheckPath(p) != nil {
		return ""
	}
	f, info, err := r.OpenFile(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	return goBinaryVersion(f, info)
}

// goBinaryVersion reads the Kubernetes version of the Go program f, if only
// root can change it.
func goBinaryVersion(f *os.File, info noderoot.Info) string {
	if !info.Trusted() {
		return ""
	}
	bi, err := buildinfo.Read(f)
	if err != nil {
		return ""
	}
	// A release build stamps the version with -X (kept in the build
	// settings unless built with -trimpath).
	for _, s := range bi.Settings {
		if s.Key != "-ldflags" {
			continue
		}
		if _, v, ok := strings.Cut(s.Value, "k8s.io/component-base/version.gitVersion="); ok {
			if v = strings.Trim(strings.Fields(v + " ")[0], `'"`); isVersion(v) {
				return v
			}
		}
	}
	// Otherwise the module it was built from: the main module when built
	// in the kubernetes tree, a dependency when built from another one
	// (k3s: replaced by its fork, same version and a suffix).
	for _, m := range append([]*debug.Module{&bi.Main}, bi.Deps...) {
		if m.Path != "k8s.io/kubernetes" {
			continue
		}
		if isVersion(m.Version) {
			return m.Version
		}
		if m.Replace != nil && isVersion(m.Replace.Version) {
			return m.Replace.Version
		}
	}
	return ""
}

// isVersion reports whether v is a Kubernetes release version such as
// v1.37.2 or v1.31.4-k3s1.
func isVersion(v string) bool {
	_, ok := MinorOf(v)
	return ok && strings.HasPrefix(v, "v")
}

// MinorOf is the minor version of "v1.34.1" or "1.34.1-1.1".
func MinorOf(v string) (int, bool) {
	rest, ok := strings.CutPrefix(strings.TrimPrefix(v, "v"), "1.")
	minorText, _, dotted := strings.Cut(rest, ".")
	minor, err := strconv.Atoi(minorText)
	return minor, ok && dotted && err == nil && minor >= 0
}

// dpkgVersion is the version of the installed package pkg in dpkg's status.
func dpkgVersion(status, pkg string) string {
	for _, stanza := range strings.Split(status, "\n\n") {
		fields := map[string]string{}
		for _, line := range strings.Split(stanza, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") {
				fields[k] = strings.TrimSpace(v)
			}
		}
		if fields["Package"] == pkg && strings.HasSuffix(fields["Status"], " installed") {
			return fields["Version"]
		}
	}
	return ""
}

// features are what the kubelet's flags and config files say about
// checking credentials for images already on the node.
type features struct {
	gateSet, gateOn    bool
	gateFrom           string
	policy, policyFrom string // imagePullCredentialsVerificationPolicy
}

// readFeatures reads the gate and the policy from the kubelet's config
// file (--config), its drop-in directory (--config-dir, *.conf in name
// order) and its --feature-gates flags, each overriding the last, as the
// kubelet does. Files another user can change are not believed.
func readFeatures(r *noderoot.Root, s *Service) features {
	var f features
	args, ok := unitArgs(r, s)
	if !ok {
		return f
	}
	for _, file := range configFiles(r, args) {
		c, err := r.ReadTrusted(file)
		if err != nil {
			continue
		}
		var cfg struct {
			FeatureGates map[string]bool `json:"featureGates"`
			Policy       string          `json:"imagePullCredentialsVerificationPolicy"`
		}
		if yamlfile.Unmarshal([]byte(c), &cfg) != nil {
			continue
		}
		if v, ok := cfg.FeatureGates[ensureGate]; ok {
			f.gateSet, f.gateOn, f.gateFrom = true, v, file
		}
		if cfg.Policy != "" {
			f.policy, f.policyFrom = cfg.Policy, file
		}
	}
	for _, g := range kubeletunit.FlagValues(args, "feature-gates") {
		for _, kv := range strings.Split(g, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
			if on, err := strconv.ParseBool(v); k == ensureGate && err == nil {
				f.gateSet, f.gateOn, f.gateFrom = true, on, "--feature-gates"
			}
		}
	}
	return f
}

// unitArgs is the kubelet's command line from its unit, where it has one of
// its own.
func unitArgs(r *noderoot.Root, s *Service) ([]string, bool) {
	if s.Unit == nil || s.Embedded {
		return nil, false
	}
	args, err := s.Unit.Args(r)
	return args, err == nil
}

// configFiles are the kubelet's --config and its --config-dir's *.conf, in
// the order the kubelet reads them.
func configFiles(r *noderoot.Root, args []string) []string {
	var files []string
	if c, ok := kubeletunit.FlagIn(args, "config"); ok && path.IsAbs(c) {
		files = append(files, c)
	}
	if d, ok := kubeletunit.FlagIn(args, "config-dir"); ok && path.IsAbs(d) {
		names, _ := r.Entries(d)
		slices.Sort(names)
		for _, n := range names {
			if strings.HasSuffix(n, ".conf") {
				files = append(files, path.Join(d, n))
			}
		}
	}
	return files
}

// SharedImageCache says why a pod of one service account could run an
// image another one pulled to this node ("" if the kubelet prevents it),
// or else how gcrcred knows that it does.
func SharedImageCache(r *noderoot.Root, s *Service, p *Process) (why, prevents string) {
	const risk = "a pod of another service account can run an image already on the node (imagePullPolicy IfNotPresent) without being allowed to pull it"
	const checks = "before it runs an image already on the node, the kubelet checks that the pod's own credentials may pull it"
	f := readFeatures(r, s)
	switch {
	case f.policy == "NeverVerify":
		return fmt.Sprintf("the kubelet's imagePullCredentialsVerificationPolicy is NeverVerify (%s): %s; set it to NeverVerifyPreloadedImages (the default) or AlwaysVerify", f.policyFrom, risk), ""
	case f.gateSet && !f.gateOn:
		return fmt.Sprintf("the kubelet's %s feature gate is off (%s): %s; turn it on", ensureGate, f.gateFrom, risk), ""
	case f.gateSet:
		return "", fmt.Sprintf("%s (%s on in %s)", checks, ensureGate, f.gateFrom)
	}
	v, from, tried := Version(r, s, p)
	minor, ok := MinorOf(v)
	config := "its config"
	if args, found := unitArgs(r, s); found {
		if c, found := kubeletunit.FlagIn(args, "config"); found {
			config = c
		}
	}
	switch {
	case ok && minor >= ensureDefaultMinor:
		return "", fmt.Sprintf("%s (kubelet %s, from %s: %s is on by default)", checks, v, from, ensureGate)
	case ok:
		return fmt.Sprintf("this node's kubelet is %s (%s), older than 1.%d, and its %s feature gate is not on: %s; upgrade the kubelet, or turn the gate on (1.34: featureGates: {%s: true} in %s)",
			v, from, ensureDefaultMinor, ensureGate, risk, ensureGate, config), ""
	}
	return fmt.Sprintf("gcrcred cannot tell this node's kubelet version (from %s), and its %s feature gate is not on in its flags or config: before 1.%d %s; on 1.%d+ (or 1.34), say so with featureGates: {%s: true} in %s",
		strings.Join(tried, ", "), ensureGate, ensureDefaultMinor, risk, ensureDefaultMinor, ensureGate, config), ""
}

// minTokenKubelet is the first kubelet minor version that passes
// service-account tokens to providers by default (beta in 1.34; alpha and
// behind a feature gate in 1.33).
const minTokenKubelet = 34

// TokenProblem says why the node's kubelet cannot pass service-account
// tokens to providers, if its version says so; a note for 1.33, where a
// feature gate may.
func TokenProblem(r *noderoot.Root, s *Service, p *Process) (problem, note string) {
	v, from, _ := Version(r, s, p)
	minor, ok := MinorOf(v)
	switch {
	case !ok:
		return "", ""
	case minor < minTokenKubelet-1:
		return fmt.Sprintf("per-pod identity needs kubelet 1.%d or newer, and this node's is %s (%s): it never passes service-account tokens to providers; upgrade the cluster, or install without --workload-identity", minTokenKubelet, v, from), ""
	case minor < minTokenKubelet:
		return "", fmt.Sprintf("this node's kubelet is %s (%s): it passes service-account tokens only with the KubeletServiceAccountTokenForCredentialProviders feature gate on, and otherwise refuses the config (install then puts everything back)", v, from)
	}
	return "", ""
}

package minikube

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gcrcred/gcrcred/internal/dockerconfig"
)

// report collects status lines and counts the problems.
type report struct {
	out      io.Writer
	problems int
}

func (r *report) check(ok bool, what, detail string) {
	mark := "ok     "
	if !ok {
		mark = "PROBLEM"
		r.problems++
	}
	fmt.Fprintf(r.out, "    %s %s: %s\n", mark, what, detail)
}

// status checks the profile and every node; true only if all is well.
func status(ctx context.Context, o options, out io.Writer) (bool, error) {
	c, err := connect(ctx, o)
	if err != nil {
		return false, err
	}
	r := &report{out: out}
	fmt.Fprintf(out, "* gcrcred on minikube profile %q (%d node(s))\n", o.profile, len(c.nodes))
	fmt.Fprintln(out, "  host (kept across minikube start and node add):")
	synced := syncedFiles(ourFiles())
	r.check(len(synced) == len(ourFiles()), "file sync", fmt.Sprintf("%d of %d files in %s", len(synced), len(ourFiles()), fileSyncDir()))
	if c.profile.hasOurs() {
		r.check(true, "extra-config", "the kubelet flags are saved in "+profileConfigPath(o.profile))
	} else {
		r.check(false, "extra-config", "the kubelet flags are not saved in "+profileConfigPath(o.profile)+": the next minikube start drops them (a later `minikube start --extra-config` replaces the saved list)")
	}
	for _, n := range c.nodes {
		fmt.Fprintf(out, "  node %s:\n", n.Name())
		if err := nodeStatus(ctx, n, r, synced); err != nil {
			r.check(false, "reach", err.Error())
		}
	}
	if r.problems > 0 {
		fmt.Fprintf(out, "* %d problem(s): `gcrcred minikube install -p %s` sets everything up again\n", r.problems, o.profile)
		return false, nil
	}
	fmt.Fprintln(out, "* All well")
	return true, nil
}

// nodeStatus checks one node: files, kubelet, Docker, a token minted there.
func nodeStatus(ctx context.Context, n Node, r *report, synced map[string][]byte) error {
	probe, err := probeFiles(ctx, n, filePaths(ourFiles()))
	if err != nil {
		return err
	}
	kl, err := readKubelet(ctx, n)
	if err != nil {
		return err
	}
	sec, err := nodeSections(ctx, n)
	if err != nil {
		return err
	}

	version := strings.TrimSpace(sec["version"])
	_, hasBinary := probe.files[NodeBinary]
	r.check(hasBinary && sec["version-rc"] == "0", "binary", orDefault(version, NodeBinary+" missing or not runnable"))
	_, hasConfig := probe.files[NodeProviderConfig]
	r.check(hasConfig, "provider config", NodeProviderConfig)

	es, _ := effectiveExecStart(kl.dropIn)
	inDropIn := hasOurFlags(splitCommand(es.value))
	running := kl.active && hasOurFlags(kl.running)
	detail := "running with " + kubeletFlags()[0].String() + " " + kubeletFlags()[1].String()
	if !running {
		detail = fmt.Sprintf("active=%v, flags in %s: %v, flags on the running kubelet: %v", kl.active, KubeletDropIn, inDropIn, hasOurFlags(kl.running))
	}
	r.check(running && inDropIn, "kubelet", detail)

	cs, hasCreds := probe.files[NodeCredentials]
	mode, _ := strconv.ParseUint(cs.mode, 8, 32)
	r.check(hasCreds && mode&0o007 == 0, "credentials", fmt.Sprintf("%s %s %s (never readable by others)", NodeCredentials, orDefault(cs.mode, "missing"), cs.owner))

	var dockerBad []string
	for _, u := range []string{"root", DockerUser} {
		if !pointsAtUs(sec["docker-"+u]) {
			dockerBad = append(dockerBad, u)
		}
	}
	if len(dockerBad) == 0 {
		r.check(true, "docker", "root's and "+DockerUser+"'s config.json send gcr.io to gcrcred")
	} else {
		r.check(false, "docker", strings.Join(dockerBad, " and ")+": config.json does not send gcr.io to gcrcred")
	}

	doctor := strings.TrimSpace(sec["doctor"])
	tokenDetail := "minted on the node (`gcrcred doctor` as the kubelet runs it)"
	if sec["doctor-rc"] != "0" {
		tokenDetail = "`gcrcred doctor` on the node failed:\n        " + strings.ReplaceAll(clip(doctor, 1500), "\n", "\n        ")
	}
	r.check(sec["doctor-rc"] == "0", "token", tokenDetail)

	var stale []string
	for _, f := range ourFiles() {
		have, onNode := probe.files[f.path]
		want, inSync := synced[f.path]
		if !onNode || !inSync || have.sum != sum(want) {
			stale = append(stale, f.path)
		}
	}
	if len(stale) == 0 {
		r.check(true, "persistence", "the node's files match minikube's file sync")
	} else {
		r.check(false, "persistence", strings.Join(stale, ", ")+": not in file sync, or different from the node's")
	}
	return nil
}

// nodeSections runs the binary's version, reads both Docker configs and runs
// `gcrcred doctor` with the kubelet's environment, in one ssh call.
func nodeSections(ctx context.Context, n Node) (map[string]string, error) {
	env := "env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin GCRCRED_CREDENTIALS=" + NodeCredentials + " GCRCRED_CACHE_DIR=" + NodeKubeletCache
	script := `echo @@version; ` + NodeBinary + ` version 2>&1 | head -n 1; echo @@version-rc; [ -x ` + NodeBinary + ` ] && ` + NodeBinary + ` version >/dev/null 2>&1; echo $?
echo @@docker-root; cat /root/.docker/config.json 2>/dev/null
h=$(awk -F: '$1=="` + DockerUser + `" {print $6}' /etc/passwd)
echo; echo @@docker-` + DockerUser + `; [ -n "$h" ] && cat "$h/.docker/config.json" 2>/dev/null
echo; echo @@doctor; ` + env + ` ` + NodeBinary + ` doctor 2>&1; rc=$?
echo @@doctor-rc; echo $rc
true`
	out, err := n.Run(ctx, script)
	if err != nil {
		return nil, err
	}
	sec := map[string]string{}
	name := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "@@") {
			name = strings.TrimPrefix(l, "@@")
			continue
		}
		if name != "" {
			sec[name] += l + "\n"
		}
	}
	for k, v := range sec {
		if strings.HasSuffix(k, "-rc") {
			sec[k] = strings.TrimSpace(v)
		}
	}
	return sec, nil
}

// pointsAtUs reports whether a Docker config sends gcr.io to gcrcred.
func pointsAtUs(config string) bool {
	var c struct {
		CredHelpers map[string]string `json:"credHelpers"`
	}
	return json.Unmarshal([]byte(config), &c) == nil && c.CredHelpers["gcr.io"] == dockerconfig.HelperName
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

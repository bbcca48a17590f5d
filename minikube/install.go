package minikube

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/gcrcred/gcrcred/minikube/minikubecli"
	"github.com/gcrcred/gcrcred/node"
)

// install puts gcrcred on every node. Files go first and flags last: file
// sync before any node (a node that restarts meanwhile gets the files),
// then `node install` on each node in turn (its files, its flags, a
// kubelet restart, rolled back if the kubelet does not stay up), and the
// profile's extra-config last. Every step is idempotent: a rerun after a
// failure continues.
func install(ctx context.Context, o options, out io.Writer) error {
	c := preflight(ctx, o, true)
	if o.dryRun {
		printPlan(c, out)
		if len(c.problems) > 0 {
			return c.reportMissing(out)
		}
		fmt.Fprintln(out, "* Dry run: nothing was changed")
		return nil
	}
	if len(c.problems) > 0 {
		return c.reportMissing(out)
	}
	bin := c.bins[c.nodes[0].arch]
	files, err := node.MinikubeFiles(bin.path, c.creds.path, o.registries)
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "* Installing gcrcred on minikube profile %q (%s)\n", o.profile, c.describeNodes())
	for _, arch := range c.archs() {
		fmt.Fprintf(out, "  %s\n", c.bins[arch])
	}
	fmt.Fprintf(out, "  credentials: %s, %s (%s)\n", c.creds.kind, orUnknown(c.creds.account), c.creds.origin)
	for _, n := range c.creds.notes {
		fmt.Fprintf(out, "  note: %s\n", n)
	}
	if others := minikubecli.OtherProfiles(o.profile); len(others) > 0 {
		fmt.Fprintf(out, "  note: minikube's file sync is shared: profile(s) %s get gcrcred's files (not its kubelet flags) at their next start\n", strings.Join(others, ", "))
	}

	steps := []step{{
		what: "save files for minikube's file sync in " + minikubecli.FileSyncDir(),
		do:   func(context.Context, io.Writer) (bool, error) { return syncFiles(files) },
	}}
	for _, ni := range c.nodes {
		steps = append(steps, step{node: ni.n.Name(), what: "gcrcred node install",
			do: func(ctx context.Context, detail io.Writer) (bool, error) { return nodeInstall(ctx, c, ni, detail) }})
	}
	steps = append(steps, step{
		what: fmt.Sprintf("save the kubelet flags in profile %q (extra-config, for the next minikube start)", o.profile),
		do: func(context.Context, io.Writer) (bool, error) {
			pc, err := minikubecli.ReadProfileConfig(c.profile.Path()) // minikube may have rewritten it meanwhile
			if err != nil || !pc.AddKubelet(kubeletOptions()) {
				return false, err
			}
			return true, pc.Write()
		},
	})
	if err := runSteps(ctx, out, steps); err != nil {
		return fmt.Errorf("%w; every kubelet still starts: fix the cause and rerun `gcrcred minikube install -p %s`, it continues where it stopped", err, o.profile)
	}
	fmt.Fprintf(out, "* gcrcred is installed on %d node(s): pods pull from gcr.io and Artifact Registry with no pull secrets.\n", len(c.nodes))
	fmt.Fprintf(out, "  Check with `gcrcred minikube status -p %s`. The files are in minikube's file sync (%s), which every profile under this MINIKUBE_HOME receives.\n", o.profile, minikubecli.FileSyncDir())
	return nil
}

// nodeInstall stages the node's binary and the credentials on it and runs
// `gcrcred node install` there, which moves them into place. A node that
// already has this very binary (same sha256) runs it from where it is:
// the copy is the slowest part of an install over ssh.
func nodeInstall(ctx context.Context, c *cluster, ni *nodeInfo, detail io.Writer) (bool, error) {
	bin := c.bins[ni.arch]
	files := map[string]string{"credentials.json": c.creds.path}
	run := node.Binary
	if nodeSHA256(ctx, ni.n, node.Binary)[node.Binary] != bin.sha256 {
		files["gcrcred"] = bin.path
		run = ""
	}
	out, err := runStaged(ctx, ni.n, files, run, func(dir string) []string {
		binary := node.Binary
		if run == "" {
			binary = path.Join(dir, "gcrcred")
		}
		return []string{"install",
			"--binary", binary,
			"--credentials", path.Join(dir, "credentials.json"),
			"--docker-users", strings.Join(node.MinikubeDockerUsers, ","),
			"--registries", strings.Join(c.o.registries, ","),
			"--kubelet-settle", c.o.settle.String(),
		}
	})
	io.WriteString(detail, out)
	return lastLine(out) != "unchanged", err
}

// printPlan says what install would change: every file each node gets,
// the flags, the host's files; what cannot be known yet says why.
func printPlan(c *cluster, out io.Writer) {
	nodes := "nodes unknown: minikube could not be asked"
	if len(c.nodes) > 0 {
		nodes = c.describeNodes()
	}
	fmt.Fprintf(out, "* Plan for minikube profile %q (%s); --dry-run: nothing is changed\n", c.o.profile, nodes)
	archs := c.archs()
	if len(archs) == 0 {
		archs = []string{"ARCH"}
	}
	for _, arch := range archs {
		binary, creds := "", ""
		if b := c.bins[arch]; b != nil {
			binary = b.path
			fmt.Fprintf(out, "  %s\n", b)
		}
		if c.creds != nil {
			creds = c.creds.path
		}
		files, err := node.MinikubeFiles(binary, creds, c.o.registries)
		if err != nil {
			c.problem("%v", err)
			continue
		}
		fmt.Fprintf(out, "  every linux/%s node gets (also kept in %s):\n", arch, minikubecli.FileSyncDir())
		for _, f := range files {
			fmt.Fprintf(out, "    %s\n", planLine(f, arch))
		}
	}
	var flags []string
	for _, f := range node.KubeletFlags() {
		flags = append(flags, f.String())
	}
	fmt.Fprintf(out, "  every node's kubelet gets %s on the ExecStart line of %s, and a restart\n", strings.Join(flags, " "), node.MinikubeDropIn)
	fmt.Fprintf(out, "  Docker's credHelpers for %s point gcr.io and *.pkg.dev hosts at gcrcred\n", strings.Join(node.MinikubeDockerUsers, " and "))
	fmt.Fprintf(out, "  the profile's saved extra-config (%s) gets kubelet.%s and kubelet.%s\n", minikubecli.ProfileConfigPath(c.o.profile), node.FlagProviderConfig, node.FlagProviderBinDir)
}

// planLine is one file of the plan: path, mode, owner, size and sha256.
func planLine(f node.SyncFile, arch string) string {
	mode, owner := f.Mode, "root:root"
	if f.Path == node.Credentials {
		mode, owner = node.CredentialsMode, "root:docker"
	}
	b, err := contentOf(f)
	switch {
	case f.Path == node.Binary && f.Source == "":
		return fmt.Sprintf("%s  %04o %s  MISSING: no %s (see below)", f.Path, mode, owner, distName(arch))
	case f.Path == node.Credentials && f.Source == "":
		return fmt.Sprintf("%s  %04o %s  MISSING: no credentials (see below)", f.Path, mode, owner)
	case err != nil:
		return fmt.Sprintf("%s  %04o %s  unreadable: %v", f.Path, mode, owner, err)
	}
	from := ""
	if f.Source != "" {
		from = "  from " + f.Source
	}
	return fmt.Sprintf("%s  %04o %s  %d bytes  sha256:%s%s", f.Path, mode, owner, len(b), sha(b)[:12], from)
}

func orUnknown(s string) string {
	if s == "" {
		return "account unknown"
	}
	return s
}

package hostinstall

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/gcrcred/gcrcred/internal/endpoint"
	"github.com/gcrcred/gcrcred/internal/nodeexec"
	"github.com/gcrcred/gcrcred/internal/noderoot"
)

// stagingTemplate is where files land on a node before `node install`
// moves them into place: copies may be world-readable (`minikube cp`
// writes 0644), so they go into a fresh root-only (0700) directory that
// mktemp makes.
const stagingTemplate = "/var/tmp/gcrcred-stage.XXXXXX"

// RunStaged copies files (name -> host path) into a fresh staging
// directory on the node, runs `BIN node ARGS...` there as root (BIN is
// bin, or "" for DIR/gcrcred; args get DIR), and removes the directory,
// whatever happened.
func RunStaged(ctx context.Context, n Node, files map[string]string, bin string, args func(dir string) []string) (string, error) {
	out, err := nodeexec.Output(ctx, n, "mktemp", "-d", stagingTemplate)
	if err != nil {
		return "", fmt.Errorf("making a staging directory: %w", err)
	}
	dir := strings.TrimSpace(out)
	if !strings.HasPrefix(dir, strings.TrimSuffix(stagingTemplate, "XXXXXX")) {
		return "", fmt.Errorf("mktemp on the node printed %q, not a staging directory", dir)
	}
	defer nodeexec.Run(context.WithoutCancel(ctx), n, "rm", "-rf", dir)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := n.CopyFile(ctx, files[name], path.Join(dir, name)); err != nil {
			return "", fmt.Errorf("copying %s: %w", name, err)
		}
	}
	if bin == "" {
		bin = path.Join(dir, "gcrcred")
		if err := nodeexec.Run(ctx, n, "chmod", "0700", bin); err != nil {
			return "", err
		}
	}
	return RunNodeCommand(ctx, n, bin, args(dir)...)
}

// RunNodeCommand runs `BIN node ARGS...` on the node as root and returns
// what it printed; a failure carries its last line.
// Under the test switch (internal/endpoint) it passes the switch on, with
// env(1) on the node, so that the node's provider config gets it too.
func RunNodeCommand(ctx context.Context, n nodeexec.Node, bin string, args ...string) (string, error) {
	var out bytes.Buffer
	argv := append([]string{bin, "node"}, args...)
	if endpoint.TestLoopback() {
		argv = append([]string{"env", endpoint.EnvTestLoopback + "=1"}, argv...)
	}
	err := n.Command(ctx, argv[0], argv[1:]...).SetStdout(&out).SetStderr(&out).Run()
	text := strings.ReplaceAll(out.String(), "\r", "")
	if err != nil {
		return text, fmt.Errorf("`gcrcred node %s` failed: %s", args[0], LastLine(text))
	}
	return text, nil
}

// LastLine is the last line of s.
func LastLine(s string) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	return ls[len(ls)-1]
}

// NodeSHA256 are the sha256 of node files, by path, as the node's own
// gcrcred (installed at bin) computes them (`gcrcred node sha256`:
// busybox's sha256sum is slow on a 10 MB binary); a file that is missing,
// or a node without gcrcred, has none.
func NodeSHA256(ctx context.Context, n nodeexec.Node, bin string, paths ...string) map[string]string {
	var out bytes.Buffer
	_ = n.Command(ctx, bin, append([]string{"node", "sha256"}, paths...)...).SetStdout(&out).Run()
	sums := map[string]string{}
	for _, l := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			sums[f[1]] = f[0]
		}
	}
	return sums
}

// HasBinary reports whether the node has gcrcred installed at bin.
func HasBinary(ctx context.Context, n nodeexec.Node, bin string) bool {
	return nodeexec.Run(ctx, n, "test", "-x", bin) == nil
}

// installNode runs `gcrcred node install` on the node with args(binary,
// at), where at says where each staged file is on the node. What the node
// already has, byte for byte (the binary installed at installed, a file
// at its node path), is used where it is; the rest (the copies are the
// slowest part of an install) is staged in a root-only directory. A rerun
// that changes nothing copies nothing. It reports whether the node changed.
func installNode(ctx context.Context, n Node, b *Binary, installed string, files []StagedFile, args func(binary string, at map[string]string) []string, detail io.Writer) (bool, error) {
	paths := []string{installed}
	for _, f := range files {
		paths = append(paths, f.Node)
	}
	onNode := NodeSHA256(ctx, n, installed, paths...)
	at, stage := map[string]string{}, map[string]string{}
	for _, f := range files {
		if sum, err := fileSHA256(f.Host); err == nil && onNode[f.Node] == sum {
			at[f.Name] = f.Node
		} else {
			stage[f.Name] = f.Host
		}
	}
	binary := installed
	if onNode[installed] != b.SHA256 {
		stage["gcrcred"], binary = b.Path, ""
	}
	var out string
	var err error
	if len(stage) == 0 {
		out, err = RunNodeCommand(ctx, n, installed, args(installed, at)...)
	} else {
		run := binary
		out, err = RunStaged(ctx, n, stage, run, func(dir string) []string {
			for name := range stage {
				at[name] = path.Join(dir, name)
			}
			if binary == "" {
				binary = path.Join(dir, "gcrcred")
			}
			return args(binary, at)
		})
	}
	io.WriteString(detail, out)
	return LastLine(out) != "unchanged", err
}

// fileSHA256 is the sha256 of a host file, in hex.
func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, noderoot.MaxBinary)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// uninstallNode runs `gcrcred node ARGS` (an uninstall) with the node's own
// gcrcred at installed, or, where that is gone, with the binary find
// picks, staged. It reports whether the node changed.
func uninstallNode(ctx context.Context, n Node, installed string, find func() (*Binary, error), args []string, dryRun bool, detail io.Writer) (bool, error) {
	var out string
	var err error
	if HasBinary(ctx, n, installed) {
		out, err = RunNodeCommand(ctx, n, installed, args...)
	} else {
		b, ferr := find()
		if ferr != nil {
			return false, fmt.Errorf("the node has no %s to undo its install with, and %v", installed, ferr)
		}
		out, err = RunStaged(ctx, n, map[string]string{"gcrcred": b.Path}, "", func(string) []string { return args })
	}
	io.WriteString(detail, out)
	return LastLine(out) != "unchanged" && !dryRun, err
}

// Report prints status lines, as `gcrcred node status` does, indented for
// a node of a cluster, and counts the problems.
type Report struct {
	Out      io.Writer
	Problems int
}

// Verdict prints the report's last line and says whether all is well;
// install is the command that sets everything up again.
func (r *Report) Verdict(install string) bool {
	if r.Problems > 0 {
		fmt.Fprintf(r.Out, "* %d problem(s): `%s` sets everything up again\n", r.Problems, install)
		return false
	}
	fmt.Fprintln(r.Out, "* All well")
	return true
}

// Check prints one line: ok, or a problem.
func (r *Report) Check(ok bool, what, detail string) {
	mark := "ok"
	if !ok {
		mark = "PROBLEM"
		r.Problems++
	}
	fmt.Fprintf(r.Out, "    %-7s %s: %s\n", mark, what, detail)
}

// NodeStatus shows `gcrcred node status` of one node (its set-up and its
// checks, not its summary), counting its problems.
func NodeStatus(ctx context.Context, n nodeexec.Node, installed string, r *Report) {
	if !HasBinary(ctx, n, installed) {
		r.Check(false, "binary", installed+" is missing")
		return
	}
	text, _ := RunNodeCommand(ctx, n, installed, "status")
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "  "):
			fmt.Fprintln(r.Out, "  "+l)
			if strings.HasPrefix(strings.TrimSpace(l), "PROBLEM") {
				r.Problems++
			}
		case strings.HasPrefix(l, "kubelet set-up:"):
			fmt.Fprintln(r.Out, "    "+l)
		}
	}
}

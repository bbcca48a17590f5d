package minikube

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/gcrcred/gcrcred/internal/nodeexec"
	"github.com/gcrcred/gcrcred/minikube/minikubecli"
	"github.com/gcrcred/gcrcred/node"
)

// stagingTemplate is where files land on a node before `node install`
// moves them into place: `minikube cp` writes mode 0644, so the copies go
// into a fresh root-only (0700) directory that mktemp makes.
const stagingTemplate = "/var/tmp/gcrcred-stage.XXXXXX"

// runStaged copies files (name -> host path) into a fresh staging
// directory on the node, runs `BIN node ARGS...` there as root (BIN is
// bin, or "" for DIR/gcrcred; args get DIR), and removes the directory,
// whatever happened.
func runStaged(ctx context.Context, n *minikubecli.Node, files map[string]string, bin string, args func(dir string) []string) (string, error) {
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
	return runNodeCommand(ctx, n, bin, args(dir)...)
}

// runNodeCommand runs `BIN node ARGS...` on the node as root and returns
// what it printed; a failure carries its last lines.
func runNodeCommand(ctx context.Context, n *minikubecli.Node, bin string, args ...string) (string, error) {
	var out bytes.Buffer
	err := n.Command(ctx, bin, append([]string{"node"}, args...)...).SetStdout(&out).SetStderr(&out).Run()
	text := strings.ReplaceAll(out.String(), "\r", "")
	if err != nil {
		return text, fmt.Errorf("`gcrcred node %s` failed: %s", args[0], lastLine(text))
	}
	return text, nil
}

func lastLine(s string) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	return ls[len(ls)-1]
}

// nodeSHA256 are the sha256 of node files, by path, as the node's own
// gcrcred computes them (`gcrcred node sha256`: busybox's sha256sum is slow
// on a 10 MB binary); a file that is missing, or a node without gcrcred,
// has none.
func nodeSHA256(ctx context.Context, n *minikubecli.Node, paths ...string) map[string]string {
	var out bytes.Buffer
	_ = n.Command(ctx, node.Binary, append([]string{"node", "sha256"}, paths...)...).SetStdout(&out).Run()
	sums := map[string]string{}
	for _, l := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			sums[f[1]] = f[0]
		}
	}
	return sums
}

// hasBinary reports whether the node has gcrcred installed.
func hasBinary(ctx context.Context, n *minikubecli.Node) bool {
	return nodeexec.Run(ctx, n, "test", "-x", node.Binary) == nil
}

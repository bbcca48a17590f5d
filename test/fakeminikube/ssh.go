package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// runningNode resolves -n (default: the control plane) to a running node.
func runningNode(c cmdline, name string) (*profile, *node, int) {
	p, err := loadProfile(c.profile)
	if err != nil {
		return nil, nil, fail("%v", err)
	}
	if name == "" {
		name = p.name
	}
	n, err := loadNode(p.name, name)
	if err != nil {
		return nil, nil, fail("Exiting due to GUEST_NODE_RETRIEVE: Node %s does not exist.", name)
	}
	if !n.Running {
		return nil, nil, fail("Exiting due to GUEST_STATUS: node %s is not running: state=Stopped", name)
	}
	return p, n, 0
}

// ssh runs the joined words through the login shell of user docker, as
// `minikube ssh` does; its passwordless sudo is the node's setuid shim.
func ssh(c cmdline) int {
	name := c.flag("n")
	if name == "" {
		name = c.flag("node")
	}
	p, n, code := runningNode(c, name)
	if n == nil {
		return code
	}
	command := strings.Join(c.rest, " ")
	if injected(n.Name, "ssh", command) {
		return fail("Exiting due to GUEST_SSH: fault injected for ssh on %s", n.Name)
	}
	root := nodeRoot(p.name, n.Name)
	tickSystemd(root)
	id := loginIdentity(root, "docker")
	if nosuid(root) {
		id = rootIdentity // sudo cannot elevate on a nosuid mount: be root throughout
	}
	cmd := inNode(root, id, loginEnv(id), "/bin/sh", "-c", command)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			// The real one loses the remote status: any failure is exit 1.
			fmt.Fprintf(os.Stderr, "ssh: Process exited with status %d\n", ee.ExitCode())
			return 1
		}
		return fail("ssh: %v", err)
	}
	return 0
}

// cp copies a host file to NODE:/abs/path (default node: the control
// plane): parents made as root, the file written as root with mode 0644,
// or, like scp into an existing file, keeping that file's mode.
func cp(c cmdline) int {
	if len(c.words) != 3 {
		return fail("Usage: minikube cp <source file path> <target node name>:<target file absolute path>")
	}
	src, dst := c.words[1], c.words[2]
	name, dstPath := "", dst
	if i := strings.Index(dst, ":"); i > 0 && !strings.Contains(dst[:i], "/") && strings.HasPrefix(dst[i+1:], "/") {
		name, dstPath = dst[:i], dst[i+1:]
	}
	if !strings.HasPrefix(dstPath, "/") {
		return fail("Target <remote file path> must be an absolute Path. Relative Path is not allowed (example: \"minikube:/home/docker/copied.txt\")")
	}
	p, n, code := runningNode(c, name)
	if n == nil {
		return code
	}
	if injected(n.Name, "cp", dstPath) {
		return fail("Exiting due to GUEST_CP: Fail to copy file %s: fault injected for cp on %s", src, n.Name)
	}
	content, err := os.ReadFile(src)
	if err != nil {
		return fail("Exiting due to HOST_PATH_MISSING: Cannot find directory %s for copy", src)
	}
	root := nodeRoot(p.name, n.Name)
	if err := mkdirAllRoot(root, path.Dir(dstPath)); err != nil {
		return fail("Exiting due to GUEST_CP: %v", err)
	}
	full := filepath.Join(root, dstPath)
	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(full); err == nil {
		mode = fi.Mode().Perm()
	}
	if err := os.WriteFile(full, content, mode); err != nil {
		return fail("Exiting due to GUEST_CP: %v", err)
	}
	if err := os.Chown(full, 0, 0); err != nil {
		return fail("Exiting due to GUEST_CP: %v", err)
	}
	checkExposure(root, dstPath, content, n.Name)
	return 0
}

// checkExposure logs a violation when a secret lands where any user of the
// node could read it: a world-readable file whose every parent directory
// others may enter.
func checkExposure(root, nodePath string, content []byte, nodeName string) {
	marker := os.Getenv("FAKE_MINIKUBE_SECRET")
	if marker == "" || !bytes.Contains(content, []byte(marker)) {
		return
	}
	fi, err := os.Stat(filepath.Join(root, nodePath))
	if err != nil || fi.Mode().Perm()&0o004 == 0 {
		return
	}
	for d := path.Dir(nodePath); ; d = path.Dir(d) {
		di, err := os.Stat(filepath.Join(root, d))
		if err != nil || di.Mode().Perm()&0o001 == 0 {
			return // others cannot get through d
		}
		if d == "/" {
			break
		}
	}
	f, err := os.OpenFile(filepath.Join(stateDir(), "violations.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		fmt.Fprintf(f, "cp left a secret world-readable at %s:%s (mode %o)\n", nodeName, nodePath, fi.Mode().Perm())
		f.Close()
	}
}

// injected reports whether the faults file says to fail verb on node.
func injected(nodeName, verb, subject string) bool {
	b, err := os.ReadFile(filepath.Join(stateDir(), "faults"))
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.SplitN(strings.TrimSpace(l), " ", 3)
		if len(f) < 2 || f[0] != verb || f[1] != nodeName {
			continue
		}
		if len(f) == 2 || strings.Contains(subject, f[2]) {
			return true
		}
	}
	return false
}

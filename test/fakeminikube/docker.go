package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/gcrcred/gcrcred/internal/fileowner"
	"github.com/gcrcred/gcrcred/internal/nodeexec"
)

// docker is the fake docker CLI over kind's nodes: `exec [-i] [-t]
// [--privileged] [-e K=V] [-u USER] [-w DIR] NODE CMD ARGS...` (argv, no
// shell; the exit code is the command's), `cp [-L] [-a] SRC NODE:DST`
// (a link copied as a link without -L; mode kept, owner root without -a;
// the destination's directory must exist), and `restart NODE...` (the
// container's root kept, its services started again as at boot).
//
// Faults: lines "exec NODE [SUBSTRING]" and "cp NODE [SUBSTRING]" of
// $FAKE_MINIKUBE_STATE/faults, as for minikube's ssh and cp.
func docker(args []string) int {
	logCall("docker", args)
	if len(args) == 0 {
		return dockerFail("docker: 'docker' requires a command")
	}
	switch args[0] {
	case "exec":
		return dockerExec(args[1:])
	case "cp":
		return dockerCp(args[1:])
	case "restart":
		for _, name := range args[1:] {
			c, err := findContainer(name)
			if err != nil {
				return dockerFail("%v", err)
			}
			powerOff(c.root)
			if err := startServices(c.root, "kubelet"); err != nil {
				return dockerFail("Error response from daemon: %v", err)
			}
			fmt.Println(name)
		}
		return 0
	}
	return dockerFail("fake docker does not implement %q", args[0])
}

func dockerFail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	return 1
}

// containerEnv is a kind node's environment, as docker exec gives it.
var containerEnv = []string{"PATH=" + nodeexec.DefaultPath, "container=docker", "HOME=/root"}

func dockerExec(args []string) int {
	interactive := false
	env := append([]string{}, containerEnv...)
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		flag, value, hasValue := strings.Cut(args[0], "=")
		args = args[1:]
		switch flag {
		case "-i", "--interactive", "-it", "-ti":
			interactive = true
		case "-t", "--tty", "--privileged":
		case "-e", "--env", "-u", "--user", "-w", "--workdir":
			if !hasValue {
				if len(args) == 0 {
					return dockerFail("flag needs an argument: %s", flag)
				}
				value, args = args[0], args[1:]
			}
			if flag == "-e" || flag == "--env" {
				env = append(env, value)
			}
		default:
			return dockerFail("unknown flag: %s", flag)
		}
	}
	if len(args) < 2 {
		return dockerFail("\"docker exec\" requires at least 2 arguments.")
	}
	c, err := findContainer(args[0])
	if err != nil {
		return dockerFail("%v", err)
	}
	if !c.n.Running {
		return dockerFail("Error response from daemon: container %s is not running", c.n.Name)
	}
	argv := args[1:]
	if injected(c.n.Name, "exec", strings.Join(argv, " ")) {
		return dockerFail("Error response from daemon: fault injected for exec on %s", c.n.Name)
	}
	tickSystemd(c.root)
	bin, err := lookPath(c.root, argv[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "OCI runtime exec failed: exec failed: unable to start container process: exec: %q: executable file not found in $PATH: unknown\n", argv[0])
		return 127
	}
	cmd := inNode(c.root, rootIdentity, env, append([]string{bin}, argv[1:]...)...)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if interactive {
		cmd.Stdin = os.Stdin
	}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		return dockerFail("OCI runtime exec failed: %v", err)
	}
	return 0
}

func dockerCp(args []string) int {
	follow, archive := false, false
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" {
		switch args[0] {
		case "-L", "--follow-link":
			follow = true
		case "-a", "--archive":
			archive = true
		case "-q", "--quiet":
		default:
			return dockerFail("unknown flag: %s", args[0])
		}
		args = args[1:]
	}
	if len(args) != 2 {
		return dockerFail("\"docker cp\" requires exactly 2 arguments.")
	}
	src, dst := args[0], args[1]
	name, dstPath, ok := strings.Cut(dst, ":")
	if !ok || strings.Contains(name, "/") {
		return dockerFail("fake docker copies only from the host to a container (SRC CONTAINER:DEST)")
	}
	c, err := findContainer(name)
	if err != nil {
		return dockerFail("%v", err)
	}
	if !path.IsAbs(dstPath) {
		dstPath = "/" + dstPath
	}
	if injected(name, "cp", dstPath) {
		return dockerFail("Error response from daemon: fault injected for cp on %s", name)
	}
	fi, err := os.Lstat(src)
	if err != nil {
		return dockerFail("lstat %s: no such file or directory", src)
	}
	if follow {
		if fi, err = os.Stat(src); err != nil {
			return dockerFail("%v", err)
		}
	}
	full := filepath.Join(c.root, dstPath)
	if di, err := os.Stat(full); err == nil && di.IsDir() || strings.HasSuffix(dstPath, "/") {
		dstPath = path.Join(dstPath, filepath.Base(src))
		full = filepath.Join(c.root, dstPath)
	} else if di, err := os.Stat(filepath.Dir(full)); err != nil || !di.IsDir() {
		return dockerFail("Error response from daemon: Could not find the file %s in container %s", path.Dir(dstPath), name)
	}
	os.Remove(full)
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(src)
		if err != nil {
			return dockerFail("%v", err)
		}
		return exitOn(os.Symlink(target, full))
	}
	content, err := os.ReadFile(src)
	if err != nil {
		return dockerFail("%v", err)
	}
	if err := os.WriteFile(full, content, fi.Mode().Perm()); err != nil {
		return dockerFail("Error response from daemon: %v", err)
	}
	uid, gid := 0, 0
	if archive {
		uid, gid, _ = fileowner.Of(fi)
	}
	if err := os.Chmod(full, fi.Mode().Perm()); err != nil {
		return dockerFail("%v", err)
	}
	if err := os.Chown(full, uid, gid); err != nil {
		return dockerFail("%v", err)
	}
	checkExposure(c.root, dstPath, content, name)
	return 0
}

// lookPath finds a command in the node's PATH as docker exec does: the
// first that is not a directory, with no check of who may change it (the
// product's nodeexec.Root.LookPath refuses what root alone cannot change).
func lookPath(root, name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, d := range filepath.SplitList(nodeexec.DefaultPath) {
		if fi, err := os.Lstat(filepath.Join(root, d, name)); err == nil && !fi.IsDir() {
			return path.Join(d, name), nil
		}
	}
	return "", fmt.Errorf("%s: not found", name)
}

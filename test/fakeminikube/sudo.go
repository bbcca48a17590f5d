package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// securePath is Debian's sudoers secure_path.
const securePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// sudo runs inside a node as a setuid-root binary: passwordless, as
// minikube's docker user has it, with sudo's reset environment.
func sudo(args []string) int {
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-n", "-E", "-H", "--":
		default:
			fmt.Fprintf(os.Stderr, "sudo (fake): option %s is not implemented\n", args[0])
			return 1
		}
		done := args[0] == "--"
		args = args[1:]
		if done {
			break
		}
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: sudo command")
		return 1
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "sudo: effective uid is not 0, is /usr/bin/sudo on a file system with the 'nosuid' option set or an NFS file system without root privileges?")
		return 1
	}
	caller := os.Getuid()
	if err := syscall.Setgroups([]int{0}); err != nil {
		return sudoFail(err)
	}
	if err := syscall.Setgid(0); err != nil {
		return sudoFail(err)
	}
	if err := syscall.Setuid(0); err != nil {
		return sudoFail(err)
	}
	path := args[0]
	if !strings.Contains(path, "/") {
		path = ""
		for _, d := range strings.Split(securePath, ":") {
			if fi, err := os.Stat(filepath.Join(d, args[0])); err == nil && !fi.IsDir() {
				path = filepath.Join(d, args[0])
				break
			}
		}
		if path == "" {
			fmt.Fprintf(os.Stderr, "sudo: %s: command not found\n", args[0])
			return 1
		}
	}
	env := []string{"HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/sh", "PATH=" + securePath,
		"SUDO_UID=" + strconv.Itoa(caller), "SUDO_COMMAND=" + strings.Join(args, " ")}
	if t := os.Getenv("TERM"); t != "" {
		env = append(env, "TERM="+t)
	}
	err := syscall.Exec(path, args, env)
	fmt.Fprintf(os.Stderr, "sudo: %s: %v\n", args[0], err)
	return 1
}

func sudoFail(err error) int {
	fmt.Fprintln(os.Stderr, "sudo (fake):", err)
	return 1
}

// uname answers -m with the node's architecture; the rest is the
// userland's.
func uname(args []string) int {
	if len(args) == 1 && args[0] == "-m" {
		b, err := os.ReadFile(fakeDir + "/arch")
		if err != nil {
			fmt.Fprintln(os.Stderr, "uname (fake):", err)
			return 1
		}
		fmt.Println(strings.TrimSpace(string(b)))
		return 0
	}
	err := syscall.Exec("/bin/userland", append([]string{"uname"}, args...), os.Environ())
	fmt.Fprintln(os.Stderr, "uname (fake):", err)
	return 127
}

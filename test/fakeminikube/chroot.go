package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// identity is who a command runs as inside a node.
type identity struct {
	uid, gid uint32
	groups   []uint32
	home     string
	name     string
}

var rootIdentity = identity{home: "/root", name: "root"}

// loginIdentity reads a user's uid, primary and supplementary groups from
// the node's own /etc/passwd and /etc/group, as a login would.
func loginIdentity(root, user string) identity {
	id := identity{name: user, home: "/home/" + user}
	for _, f := range colonLines(filepath.Join(root, "etc/passwd")) {
		if len(f) >= 6 && f[0] == user {
			uid, _ := strconv.Atoi(f[2])
			gid, _ := strconv.Atoi(f[3])
			id.uid, id.gid, id.home = uint32(uid), uint32(gid), f[5]
		}
	}
	id.groups = []uint32{id.gid}
	for _, f := range colonLines(filepath.Join(root, "etc/group")) {
		if len(f) >= 4 {
			for _, m := range strings.Split(f[3], ",") {
				if m == user {
					gid, _ := strconv.Atoi(f[2])
					id.groups = append(id.groups, uint32(gid))
				}
			}
		}
	}
	return id
}

func colonLines(path string) [][]string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, strings.Split(sc.Text(), ":"))
	}
	return out
}

// inNode is a command that runs in a node's root as id, with the
// environment a login or systemd gives (nothing from the host leaks in).
func inNode(root string, id identity, env []string, argv ...string) *exec.Cmd {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = id.home
	if _, err := os.Stat(filepath.Join(root, id.home)); err != nil {
		cmd.Dir = "/"
	}
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Chroot:     root,
		Credential: &syscall.Credential{Uid: id.uid, Gid: id.gid, Groups: id.groups},
	}
	return cmd
}

// loginEnv is what sshd gives a session.
func loginEnv(id identity) []string {
	return []string{
		"HOME=" + id.home, "USER=" + id.name, "LOGNAME=" + id.name, "SHELL=/bin/sh",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	}
}

// nosuid reports whether the node root's file system ignores setuid bits;
// then sudo cannot elevate and ssh runs as root instead of the docker user.
func nosuid(root string) bool {
	var st syscall.Statfs_t
	return syscall.Statfs(root, &st) == nil && st.Flags&0x2 != 0 // ST_NOSUID
}

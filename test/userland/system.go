package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// uname [-snrvma]: the kernel's names (default -s).
func uname(args []string) int {
	set, rest, err := options("uname", args, "snrvma", "")
	if err != nil || len(rest) > 0 {
		return fail("uname", "usage: uname [-snrvma] %v", errOrEmpty(err))
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return fail("uname", "%v", err)
	}
	fields := []struct {
		flag byte
		v    [65]byte
	}{{'s', u.Sysname}, {'n', u.Nodename}, {'r', u.Release}, {'v', u.Version}, {'m', u.Machine}}
	if len(set) == 0 {
		set['s'] = ""
	}
	var out []string
	for _, f := range fields {
		if has(set, f.flag) || has(set, 'a') {
			out = append(out, unix.ByteSliceToString(f.v[:]))
		}
	}
	fmt.Println(strings.Join(out, " "))
	return 0
}

// id [-u|-g|-G] [-n]: who this process is, names from /etc/passwd and
// /etc/group as the node has them.
func id(args []string) int {
	set, rest, err := options("id", args, "ugGnr", "")
	if err != nil || len(rest) > 0 {
		return fail("id", "usage: id [-u|-g|-G] [-nr] %v", errOrEmpty(err))
	}
	uid, gid := os.Geteuid(), os.Getegid()
	if has(set, 'r') {
		uid, gid = os.Getuid(), os.Getgid()
	}
	users, groups := names("/etc/passwd"), names("/etc/group")
	show := func(n int, names map[int]string) string {
		if has(set, 'n') {
			if s, ok := names[n]; ok {
				return s
			}
		}
		return strconv.Itoa(n)
	}
	gids, _ := os.Getgroups()
	switch {
	case has(set, 'u'):
		fmt.Println(show(uid, users))
	case has(set, 'g'):
		fmt.Println(show(gid, groups))
	case has(set, 'G'):
		var out []string
		for _, g := range append([]int{gid}, others(gids, gid)...) {
			out = append(out, show(g, groups))
		}
		fmt.Println(strings.Join(out, " "))
	default:
		line := fmt.Sprintf("uid=%d(%s) gid=%d(%s)", uid, users[uid], gid, groups[gid])
		var gs []string
		for _, g := range append([]int{gid}, others(gids, gid)...) {
			gs = append(gs, fmt.Sprintf("%d(%s)", g, groups[g]))
		}
		fmt.Println(line + " groups=" + strings.Join(gs, ","))
	}
	return 0
}

func others(gids []int, primary int) []int {
	var out []int
	for _, g := range gids {
		if g != primary {
			out = append(out, g)
		}
	}
	return out
}

// names maps the ids of a passwd or group file to their names.
func names(file string) map[int]string {
	m := map[int]string{}
	f, err := os.Open(file)
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 3 {
			continue
		}
		if n, err := strconv.Atoi(fields[2]); err == nil {
			if _, seen := m[n]; !seen {
				m[n] = fields[0]
			}
		}
	}
	return m
}

// env [-i] [-u NAME] [NAME=VALUE]... [COMMAND [ARG]...]: runs COMMAND
// (looked up on the new PATH) in the changed environment, or prints it.
func env(args []string) int {
	vars := os.Environ()
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch a := args[0]; {
		case a == "-i" || a == "-":
			vars = nil
		case a == "-u" && len(args) > 1:
			vars = unset(vars, args[1])
			args = args[1:]
		case a == "--":
			args = args[1:]
			goto assignments
		default:
			return fail("env", "invalid option '%s' (the fake node userland has -i and -u)", a)
		}
		args = args[1:]
	}
assignments:
	for len(args) > 0 && strings.Contains(args[0], "=") {
		k, _, _ := strings.Cut(args[0], "=")
		vars = append(unset(vars, k), args[0])
		args = args[1:]
	}
	if len(args) == 0 {
		for _, kv := range vars {
			fmt.Println(kv)
		}
		return 0
	}
	path := args[0]
	if !strings.Contains(path, "/") {
		path = lookPath(args[0], vars)
		if path == "" {
			return shFail(127, "env: can't execute '%s': No such file or directory", args[0])
		}
	}
	err := syscall.Exec(path, args, vars)
	return shFail(126, "env: can't execute '%s': %v", args[0], err)
}

func unset(vars []string, name string) []string {
	var out []string
	for _, kv := range vars {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// lookPath finds name on the PATH of vars.
func lookPath(name string, vars []string) string {
	path := ""
	for _, kv := range vars {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

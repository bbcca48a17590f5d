// Command userland is the userland of the fake node roots
// (test/fakeminikube): one static program, a POSIX shell (mvdan.cc/sh's
// interpreter) and exactly the utilities that node commands, the fakes and
// the node roots' scripts run, each with the options a minimal node's
// busybox has and no more. It is built from this repository, so the tests
// need nothing from the machine's distribution; and an installer that
// starts to rely on a utility or an option a Buildroot node lacks fails
// here as it would there.
//
// Like busybox it goes by the name it is run as (a hard link per utility),
// or by its first argument (`userland sh -c ...`). `userland --list` prints
// where each utility lives in a node root, as `busybox --list-full` does.
//
// The shell runs every command it does not have built in as a program
// found on PATH (a fork and an exec, as dash does): a node's own programs
// (the fake systemctl, sudo and uname) are found where they are installed,
// never shadowed by a utility run inside the shell.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// applet is one utility: its path in a node root and its code.
type applet struct {
	path string
	run  func(args []string) int
}

// applets are what node roots use, at busybox's paths.
var applets = map[string]applet{
	"sh":     {"bin/sh", shell},
	"cat":    {"bin/cat", cat},
	"chmod":  {"bin/chmod", chmod},
	"ln":     {"bin/ln", ln},
	"mktemp": {"bin/mktemp", mktemp},
	"mv":     {"bin/mv", mv},
	"rm":     {"bin/rm", rm},
	"sed":    {"bin/sed", sed},
	"uname":  {"bin/uname", uname},
	"env":    {"usr/bin/env", env},
	"id":     {"usr/bin/id", id},
	"test":   {"usr/bin/test", testCmd},
}

func main() {
	os.Exit(run(os.Args))
}

func run(argv []string) int {
	name := filepath.Base(argv[0])
	if a, ok := applets[name]; ok {
		return a.run(argv[1:])
	}
	if len(argv) > 1 {
		if argv[1] == "--list" {
			list()
			return 0
		}
		if a, ok := applets[argv[1]]; ok {
			return a.run(argv[2:])
		}
		fmt.Fprintf(os.Stderr, "userland: %s: applet not found\n", argv[1])
		return 127
	}
	fmt.Fprintln(os.Stderr, "usage: userland APPLET [ARGS]... | userland --list")
	return 1
}

// list prints each applet's path in a node root, one a line.
func list() {
	var paths []string
	for _, a := range applets {
		paths = append(paths, a.path)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Println(p)
	}
}

// fail prints "NAME: message" and returns 1, as busybox does.
func fail(name string, format string, args ...any) int {
	fmt.Fprintf(os.Stderr, name+": "+format+"\n", args...)
	return 1
}

// options parses short options as getopt does (-rf is -r -f, -- ends
// them, the first operand ends them): flags are options without a value,
// valued those with one. An option outside both is an error, so a node
// command that relies on an option a minimal userland lacks fails.
func options(name string, args []string, flags, valued string) (set map[byte]string, rest []string, err error) {
	set = map[byte]string{}
	for len(args) > 0 {
		a := args[0]
		if a == "--" {
			return set, args[1:], nil
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		args = args[1:]
		for i := 1; i < len(a); i++ {
			c := a[i]
			switch {
			case indexByte(flags, c):
				set[c] = ""
			case indexByte(valued, c):
				v := a[i+1:]
				if v == "" {
					if len(args) == 0 {
						return nil, nil, fmt.Errorf("option requires an argument -- '%c'", c)
					}
					v, args = args[0], args[1:]
				}
				set[c] = v
				i = len(a)
			default:
				return nil, nil, fmt.Errorf("invalid option -- '%c' (the fake node userland has only the options node commands use)", c)
			}
		}
	}
	return set, args, nil
}

func indexByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

func has(set map[byte]string, c byte) bool {
	_, ok := set[c]
	return ok
}

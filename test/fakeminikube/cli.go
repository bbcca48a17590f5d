package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// cmdline is a parsed minikube command line: global -p, the verb words,
// flags (repeatable), and what follows "--".
type cmdline struct {
	profile string
	words   []string
	flags   map[string][]string
	rest    []string
}

// valueFlags take a value; others are booleans.
var valueFlags = map[string]bool{
	"p": true, "profile": true, "n": true, "node": true, "o": true, "output": true,
	"nodes": true, "extra-config": true, "kubernetes-version": true, "driver": true,
}

func parse(args []string) (cmdline, error) {
	c := cmdline{profile: "minikube", flags: map[string][]string{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			c.rest = args[i+1:]
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if len(c.words) == 1 && c.words[0] == "ssh" {
				c.rest = args[i:] // `minikube ssh CMD...` without "--"
				break
			}
			c.words = append(c.words, a)
			continue
		}
		name := strings.TrimLeft(a, "-")
		value, hasValue := "", false
		if k, v, ok := strings.Cut(name, "="); ok {
			name, value, hasValue = k, v, true
		}
		if valueFlags[name] && !hasValue {
			if i+1 >= len(args) {
				return c, fmt.Errorf("flag needs an argument: %s", a)
			}
			i++
			value = args[i]
		}
		if name == "p" || name == "profile" {
			c.profile = value
			continue
		}
		c.flags[name] = append(c.flags[name], value)
	}
	return c, nil
}

func (c cmdline) flag(name string) string {
	if v := c.flags[name]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

func minikube(args []string) int {
	c, err := parse(args)
	if err != nil {
		return fail("%v", err)
	}
	logCall("minikube", args)
	verb := strings.Join(c.words, " ")
	if len(c.words) > 0 && (c.words[0] == "ssh" || c.words[0] == "cp") {
		verb = c.words[0]
	}
	switch verb {
	case "start":
		return start(c)
	case "stop":
		return stop(c)
	case "status":
		return status(c)
	case "node list":
		return nodeList(c)
	case "node add":
		return nodeAdd(c)
	case "ssh":
		return ssh(c)
	case "cp":
		return cp(c)
	case "version":
		fmt.Println("minikube version: v1.38.0 (fake)")
		return 0
	}
	return fail("fakeminikube does not implement %q", verb)
}

// logCall appends the command line of the fake CLI name to calls.log, for
// tests to read.
func logCall(name string, args []string) {
	dir := os.Getenv("FAKE_MINIKUBE_STATE")
	if dir == "" {
		return
	}
	f, err := os.OpenFile(dir+"/calls.log", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	var shown []string
	for _, a := range args {
		if i := strings.IndexByte(a, '\n'); i >= 0 {
			a = a[:i] + " ..."
		}
		shown = append(shown, strconv.Quote(a))
	}
	fmt.Fprintf(f, "%s %s %s\n", time.Now().Format("15:04:05.000"), name, strings.Join(shown, " "))
}

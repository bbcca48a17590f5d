package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// shell is sh: `sh [-ex] -c SCRIPT [NAME [ARG]...]`, `sh [-ex] FILE
// [ARG]...` (how the kernel runs a #!/bin/sh script) or `sh [-ex]` reading
// the script from stdin. POSIX syntax only, as dash and busybox's ash.
func shell(args []string) int {
	var setOpts []string
	script, fromC := "", false
	for len(args) > 0 && len(args[0]) > 1 && (args[0][0] == '-' || args[0][0] == '+') {
		a := args[0]
		args = args[1:]
		if a == "--" || a == "-" {
			break
		}
		for _, c := range a[1:] {
			switch c {
			case 'c':
				fromC = true
			case 'e', 'x', 'u', 'f', 'n':
				setOpts = append(setOpts, string(a[0])+string(c))
			default:
				return shFail(2, "sh: -%c: invalid option", c)
			}
		}
	}
	name := "sh"
	var src io.Reader
	switch {
	case fromC:
		if len(args) == 0 {
			return shFail(2, "sh: -c requires an argument")
		}
		script, args = args[0], args[1:]
		if len(args) > 0 {
			name, args = args[0], args[1:]
		}
		src = strings.NewReader(script)
	case len(args) > 0:
		f, err := os.Open(args[0])
		if err != nil {
			return shFail(127, "sh: can't open '%s': %v", args[0], errors.Unwrap(err))
		}
		defer f.Close()
		name, args, src = args[0], args[1:], f
	default:
		src = os.Stdin
	}
	return runScript(src, name, setOpts, args)
}

func shFail(code int, format string, args ...any) int {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	return code
}

// runScript runs a POSIX script named name ($0) with positional args; its
// exit status is the script's.
func runScript(src io.Reader, name string, setOpts, args []string) int {
	script, err := io.ReadAll(src)
	if err != nil {
		return shFail(2, "sh: %s: %v", name, err)
	}
	// POSIX syntax only, as dash and ash read it; but the interpreter
	// runs export and readonly only as Bash's parser gives them, so the
	// script is checked as POSIX and run as parsed for Bash.
	posix, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(bytes.NewReader(script), name)
	if err != nil {
		return shFail(2, "%v", err) // name:line:col: what
	}
	if word := bashOnly(posix); word != "" {
		return shFail(127, "sh: %s: not found (Bash's, not POSIX sh's)", word)
	}
	file, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(bytes.NewReader(script), name)
	if err != nil {
		return shFail(2, "%v", err)
	}
	dir, err := os.Getwd()
	if err != nil {
		dir = "/"
	}
	r, err := interp.New(
		interp.Env(expand.ListEnviron(os.Environ()...)),
		interp.Dir(dir),
		interp.StdIO(os.Stdin, os.Stdout, os.Stderr),
		// Every command that is not a builtin is a program on PATH.
		interp.ExecHandlers(notFound),
		interp.Params(append(append(setOpts, "--"), args...)...),
	)
	if err != nil {
		return shFail(2, "sh: %v", err)
	}
	err = r.Run(context.Background(), file)
	var status interp.ExitStatus
	switch {
	case err == nil:
		return 0
	case errors.As(err, &status):
		return int(status)
	default:
		return shFail(2, "sh: %v", err)
	}
}

// bashOnly is the first command of a script parsed as POSIX that only
// Bash would run ([[, declare, let, ...): dash has none of them.
func bashOnly(f *syntax.File) (word string) {
	syntax.Walk(f, func(n syntax.Node) bool {
		if call, ok := n.(*syntax.CallExpr); ok && len(call.Args) > 0 && word == "" {
			switch w := call.Args[0].Lit(); w {
			case "[[", "declare", "typeset", "let", "function", "coproc", "nameref", "shopt", "mapfile", "readarray", "select":
				word = w
			}
		}
		return word == ""
	})
	return word
}

// notFound words a missing command as dash and ash do ("sh: NAME: not
// found", exit 127) before the default handler runs what is found.
func notFound(next interp.ExecHandlerFunc) interp.ExecHandlerFunc {
	return func(ctx context.Context, args []string) error {
		hc := interp.HandlerCtx(ctx)
		if _, err := interp.LookPathDir(hc.Dir, hc.Env, args[0]); err != nil {
			fmt.Fprintf(hc.Stderr, "sh: %s: not found\n", args[0])
			return interp.ExitStatus(127)
		}
		return next(ctx, args)
	}
}

// testCmd is test: the shell's own builtin, run on the arguments.
func testCmd(args []string) int {
	return runScript(strings.NewReader(`test "$@"`), "test", nil, args)
}

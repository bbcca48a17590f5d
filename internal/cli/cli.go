// Package cli parses a command's flags the same way for every gcrcred
// command: help (written by hand, --flag style) on --help to stdout with
// exit 0; on a usage error, the error and a one-line hint on stderr with
// exit 2, never the whole help.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// ExitUsage is the exit code of a usage error.
const ExitUsage = 2

// Command is one command's name ("gcrcred token"), help text and flags.
type Command struct {
	Name  string
	Help  string
	Flags *flag.FlagSet
	// MaxArgs is how many positional arguments it takes (-1: any).
	MaxArgs int
}

// New makes a Command whose flags are added to Flags before Parse.
func New(name, help string, maxArgs int) *Command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &Command{Name: name, Help: help, Flags: fs, MaxArgs: maxArgs}
}

// Parse parses args. When it returns false, the command must exit with
// code: 0 after help, ExitUsage after a usage error (already reported).
func (c *Command) Parse(args []string, stdout, stderr io.Writer) (ok bool, code int) {
	err := c.Flags.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, c.Help)
		return false, 0
	case err != nil:
		return false, c.UsageError(stderr, "%v", strings.Replace(err.Error(), " -", " --", 1))
	case c.MaxArgs >= 0 && c.Flags.NArg() > c.MaxArgs:
		return false, c.UsageError(stderr, "unexpected argument %q", c.Flags.Arg(c.MaxArgs))
	}
	return true, 0
}

// UsageError reports a usage error and a hint; it returns ExitUsage.
func (c *Command) UsageError(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "%s: %s\nRun `%s --help` for usage.\n", c.Name, fmt.Sprintf(format, args...), c.Name)
	return ExitUsage
}

// Fail reports a command's failure as one line on stderr and returns 1.
func Fail(stderr io.Writer, name string, err error) int {
	fmt.Fprintf(stderr, "%s: %s\n", name, OneLine(err.Error()))
	return 1
}

// OneLine joins a message's lines with "; ": the kubelet and Docker show
// one line of a plugin's output.
func OneLine(msg string) string {
	return strings.ReplaceAll(strings.TrimSpace(msg), "\n", "; ")
}

// OptionalString is a string flag that knows whether it was given, so
// `--registries ""` can differ from no --registries at all.
type OptionalString struct {
	Value string
	Given bool
}

func (s *OptionalString) String() string     { return s.Value }
func (s *OptionalString) Set(v string) error { s.Value, s.Given = v, true; return nil }

// Verb reads the first word of a command with sub-commands (`gcrcred node
// install ...`): without one, the help on stderr and ExitUsage; a help
// word, the help on stdout and 0; an unknown one, a usage error. When ok is
// false the command exits with code. hidden verbs work but are not named.
func Verb(name, help string, args, verbs, hidden []string, stdout, stderr io.Writer) (verb string, rest []string, ok bool, code int) {
	if len(args) == 0 {
		return "", nil, false, New(name, help, 0).UsageError(stderr, "missing command: want %s", strings.Join(verbs, ", "))
	}
	switch verb = args[0]; verb {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, help)
		return "", nil, false, 0
	}
	for _, v := range append(append([]string{}, verbs...), hidden...) {
		if v == verb {
			return verb, args[1:], true, 0
		}
	}
	return "", nil, false, New(name, help, 0).UsageError(stderr, "unknown command %q: want %s", verb, strings.Join(verbs, ", "))
}

// Or is the flag's value if it was given (even empty), else def.
func (s *OptionalString) Or(def string) string {
	if s.Given {
		return s.Value
	}
	return def
}

// ShellQuote quotes s for a POSIX shell when it needs it, for the commands
// gcrcred prints for a user to run and the ones it sends over ssh.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ShellJoin quotes argv for a POSIX shell, word by word.
func ShellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = ShellQuote(a)
	}
	return strings.Join(q, " ")
}

// Clip shortens a value quoted in a message to n bytes, on a rune boundary.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// Squeeze is another program's output as one line of at most n bytes.
func Squeeze(s string, n int) string { return Clip(strings.Join(strings.Fields(s), " "), n) }

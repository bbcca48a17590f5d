package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/gcrcred/gcrcred/internal/settings"
)

// Command is one command of the tree: a verb with its flags and what it
// runs, or a group of sub-commands. Its flags are defined once, by Flags,
// with their usage strings; parsing, help, suggestions and completion all
// read that one definition. Flags is called only when the command is run
// or described, so building the tree costs no flag set.
type Command struct {
	Name    string // the word on the command line
	Args    string // its positional arguments in the usage line: "[REGISTRY]"
	MaxArgs int    // how many positional arguments it takes (-1: any)
	Summary string // one line, in its parent's list of commands
	Help    string // what it does: paragraphs between the usage line and the flags
	Footer  string // said after the flags
	Hidden  bool   // runs, but is not listed or completed
	// Complete are the words its positional arguments may be, for the
	// completion scripts (none: file names, if it takes arguments).
	Complete []string
	Flags    func(fs *FlagSet)
	Run      func(c *Call) int
	Subs     []*Command

	parent *Command
}

// Call is one run of a command: its positional arguments, streams and
// settings (the environment, read once by main).
type Call struct {
	Cmd            *Command
	Args           []string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Flags          *FlagSet
	Settings       settings.Settings
}

// Arg is the i-th positional argument, "" if there is none.
func (c *Call) Arg(i int) string {
	if i < len(c.Args) {
		return c.Args[i]
	}
	return ""
}

// UsageError reports a usage error with the hint to --help; it returns
// ExitUsage.
func (c *Call) UsageError(format string, args ...any) int {
	return c.Cmd.UsageError(c.Stderr, format, args...)
}

// Fail reports the command's failure as one line on stderr and returns 1.
func (c *Call) Fail(err error) int { return Fail(c.Stderr, c.Cmd.Path(), err) }

// Path is the command line that names the command: "gcrcred node install".
func (c *Command) Path() string {
	if c.parent == nil {
		return c.Name
	}
	return c.parent.Path() + " " + c.Name
}

// UsageError reports a usage error and a hint; it returns ExitUsage.
func (c *Command) UsageError(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "%s: %s\nRun `%s --help` for usage.\n", c.Path(), fmt.Sprintf(format, args...), c.Path())
	return ExitUsage
}

// Sub is the sub-command named name, hidden ones included.
func (c *Command) Sub(name string) *Command {
	for _, s := range c.Subs {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Link sets every sub-command's parent; Execute does it, and so must a
// caller that walks a tree it did not run.
func (c *Command) Link() *Command {
	for _, s := range c.Subs {
		s.parent = c
		s.Link()
	}
	return c
}

// Visible is the sub-commands that are listed and completed.
func (c *Command) Visible() []*Command {
	var out []*Command
	for _, s := range c.Subs {
		if !s.Hidden {
			out = append(out, s)
		}
	}
	return out
}

// FlagSet is the command's flags: a flag.FlagSet (so Go's flag syntax,
// -flag and --flag alike), with aliases (-p for --profile) and groups of
// flags that the help shows under a heading of their own.
type FlagSet struct {
	*flag.FlagSet
	aliases map[string]string // short name -> long name
	groups  []flagGroup
}

type flagGroup struct {
	title string
	names []string
}

// NewFlagSet is the flag set of a command, defined by its Flags.
func (c *Command) NewFlagSet() *FlagSet {
	fs := &FlagSet{FlagSet: flag.NewFlagSet(c.Path(), flag.ContinueOnError), aliases: map[string]string{}}
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if c.Flags != nil {
		c.Flags(fs)
	}
	return fs
}

// Alias makes -short another name of the flag --long, defined before.
func (fs *FlagSet) Alias(short, long string) {
	f := fs.Lookup(long)
	fs.Var(f.Value, short, "alias of --"+long)
	fs.aliases[short] = long
}

// Group defines, with define, flags the help shows after the others under
// title (a paragraph of its own).
func (fs *FlagSet) Group(title string, define func()) {
	before := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { before[f.Name] = true })
	define()
	g := flagGroup{title: title}
	fs.VisitAll(func(f *flag.Flag) {
		if !before[f.Name] {
			g.names = append(g.names, f.Name)
		}
	})
	fs.groups = append(fs.groups, g)
}

// Given reports whether the flag name was on the command line.
func (fs *FlagSet) Given(name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name || fs.aliases[f.Name] == name {
			given = true
		}
	})
	return given
}

// takesValue reports whether a flag needs the next word as its value when
// it has no "=value" (every flag but a boolean one).
func takesValue(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !ok || !b.IsBoolFlag()
}

// isHelp reports whether a word asks for help.
func isHelp(w string) bool { return w == "-h" || w == "--help" || w == "-help" }

// flagName is the name of a flag word ("--name=v" -> "name"), and whether
// the word is a flag at all ("-" and non-dash words are not).
func flagName(w string) (string, bool) {
	if len(w) < 2 || w[0] != '-' {
		return "", false
	}
	name := strings.TrimPrefix(strings.TrimPrefix(w, "-"), "-")
	name, _, _ = strings.Cut(name, "=")
	return name, true
}

// errHelp is what parse returns when help was asked for.
var errHelp = errors.New("help requested")

// parse reads a command's flags wherever they are on the line (Go's flag
// package stops at the first argument): flags, with the word after each
// flag that takes a value, go to the flag set, the rest are positional; a
// "--" ends the flags. An unknown flag is reported with the nearest known
// one.
func (c *Command) parse(fs *FlagSet, args []string) ([]string, error) {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		w := args[i]
		if w == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		name, isFlag := flagName(w)
		if !isFlag {
			positional = append(positional, w)
			continue
		}
		if isHelp(w) {
			return nil, errHelp
		}
		f := fs.Lookup(name)
		if f == nil {
			return nil, fmt.Errorf("unknown flag %s%s", strings.SplitN(w, "=", 2)[0], suggestion(name, fs.names(), "--"))
		}
		flags = append(flags, w)
		if takesValue(f) && !strings.Contains(w, "=") {
			if i+1 == len(args) { // said here: flag's own message would spell -p as --p
				return nil, fmt.Errorf("flag %s needs a value", w)
			}
			flags = append(flags, args[i+1])
			i++
		}
	}
	if err := fs.Parse(flags); err != nil {
		return nil, errors.New(strings.Replace(err.Error(), " -", " --", 1))
	}
	return positional, nil
}

// names is every flag's name, aliases too.
func (fs *FlagSet) names() []string {
	var out []string
	fs.VisitAll(func(f *flag.Flag) { out = append(out, f.Name) })
	return out
}

// Execute runs the command args name under root (args without the
// program's name): it finds the sub-command wherever flags put it, parses
// that command's flags, and runs it. --help anywhere shows the help of the
// command named so far and exits 0; a usage error says so on stderr with
// the nearest valid word, and returns ExitUsage.
func Execute(root *Command, args []string, call Call) int {
	root.Link()
	cmd := root
	for len(cmd.Subs) > 0 {
		if words := nonFlags(args); len(words) > 0 && words[0] == "help" && cmd.Sub("help") == nil {
			return cmd.helpFor(words[1:], call)
		}
		i, sub := findSub(cmd, args)
		if sub == nil {
			return cmd.noSub(args, i, call)
		}
		cmd, args = sub, append(append([]string{}, args[:i]...), args[i+1:]...)
	}
	fs := cmd.NewFlagSet()
	positional, err := cmd.parse(fs, args)
	switch {
	case errors.Is(err, errHelp):
		WriteHelp(call.Stdout, cmd)
		return 0
	case err != nil:
		return cmd.UsageError(call.Stderr, "%v", err)
	case cmd.MaxArgs >= 0 && len(positional) > cmd.MaxArgs:
		return cmd.UsageError(call.Stderr, "unexpected argument %q", positional[cmd.MaxArgs])
	}
	call.Cmd, call.Args, call.Flags = cmd, positional, fs
	return cmd.Run(&call)
}

// findSub is the first word of args that names a sub-command of cmd (flags
// may come before it), or else the index of the first word that is not a
// flag (-1: none) and no command.
func findSub(cmd *Command, args []string) (int, *Command) {
	first := -1
	for i, w := range args {
		if w == "--" {
			break
		}
		if _, isFlag := flagName(w); isFlag {
			continue
		}
		if s := cmd.Sub(w); s != nil {
			return i, s
		}
		if first < 0 {
			first = i
		}
	}
	return first, nil
}

// nonFlags are the words of args that are not flags, up to a "--" (a
// flag's value counts as a word: this is for `help WORDS`).
func nonFlags(args []string) []string {
	var words []string
	for _, w := range args {
		if w == "--" {
			break
		}
		if _, isFlag := flagName(w); !isFlag {
			words = append(words, w)
		}
	}
	return words
}

// noSub answers a group command's line that names none of its commands:
// help if asked for (also as `help`), else a usage error.
func (c *Command) noSub(args []string, first int, call Call) int {
	for _, w := range args {
		if isHelp(w) {
			WriteHelp(call.Stdout, c)
			return 0
		}
	}
	var names []string
	for _, s := range c.Visible() {
		names = append(names, s.Name)
	}
	if first < 0 {
		if len(args) == 0 && c.parent == nil {
			WriteHelp(call.Stderr, c)
			return ExitUsage
		}
		if len(args) > 0 {
			return c.UsageError(call.Stderr, "missing command before %s: want %s", args[0], strings.Join(names, ", "))
		}
		return c.UsageError(call.Stderr, "missing command: want %s", strings.Join(names, ", "))
	}
	w := args[first]
	return c.UsageError(call.Stderr, "unknown command %q%s", w, suggestionOr(w, names))
}

// helpFor is `help [COMMAND...]`: the help of the command the words name.
func (c *Command) helpFor(words []string, call Call) int {
	cmd := c
	for _, w := range words {
		sub := cmd.Sub(w)
		if sub == nil {
			return cmd.UsageError(call.Stderr, "no help for %q, not a command of %s%s", w, cmd.Path(), suggestionOr(w, subNames(cmd)))
		}
		cmd = sub
	}
	WriteHelp(call.Stdout, cmd)
	return 0
}

func subNames(c *Command) []string {
	var names []string
	for _, s := range c.Visible() {
		names = append(names, s.Name)
	}
	return names
}

// RunAlone runs one top-level command as `gcrcred NAME ARGS...` runs it,
// with settings s, for a package's tests of its own command.
func RunAlone(cmd *Command, s settings.Settings, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := &Command{Name: "gcrcred", Subs: []*Command{cmd}}
	return Execute(root, append([]string{cmd.Name}, args...), Call{Stdin: stdin, Stdout: stdout, Stderr: stderr, Settings: s})
}

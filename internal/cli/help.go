package cli

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// helpWidth is where help text wraps; a label (a flag and its value, a
// command) longer than maxLabel has its text on the next line.
const (
	helpWidth = 80
	maxLabel  = 22
)

// WriteHelp writes a command's help, generated from its definition: the
// usage line, what it does, its commands or its flags (each with its
// value's name, usage and default), and its footer.
func WriteHelp(w io.Writer, c *Command) {
	var b strings.Builder
	usage := "Usage: " + c.Path()
	if len(c.Subs) > 0 {
		usage += " COMMAND"
	}
	fs := c.NewFlagSet()
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		usage += " [flags]"
	}
	if c.Args != "" {
		usage += " " + c.Args
	}
	b.WriteString(usage + "\n")
	if h := strings.TrimSpace(c.Help); h != "" {
		b.WriteString("\n" + h + "\n")
	}
	if subs := c.Visible(); len(subs) > 0 {
		b.WriteString("\nCommands:\n")
		width := 0
		for _, s := range subs {
			if l := len(commandLabel(s)); l <= maxLabel {
				width = max(width, l)
			}
		}
		for _, s := range subs {
			writeItem(&b, commandLabel(s), s.Summary, width)
		}
		fmt.Fprintf(&b, "\nRun `%s COMMAND --help` for a command's flags.\n", c.Path())
	}
	if len(c.Subs) == 0 {
		writeFlags(&b, fs)
	}
	if f := strings.TrimSpace(c.Footer); f != "" {
		b.WriteString("\n" + f + "\n")
	}
	io.WriteString(w, b.String())
}

// commandLabel is a sub-command as its parent lists it: "install" or
// "token [REGISTRY]".
func commandLabel(c *Command) string {
	if c.Args != "" && len(c.Subs) == 0 {
		return c.Name + " " + c.Args
	}
	return c.Name
}

// writeFlags writes the flags outside any group, then each group under
// its title, each list sorted by name.
func writeFlags(b *strings.Builder, fs *FlagSet) {
	grouped := map[string]bool{}
	for _, g := range fs.groups {
		for _, n := range g.names {
			grouped[n] = true
		}
	}
	var plain []string
	fs.VisitAll(func(f *flag.Flag) {
		if !grouped[f.Name] && fs.aliases[f.Name] == "" {
			plain = append(plain, f.Name)
		}
	})
	sort.Strings(plain)
	type line struct{ label, text string }
	lines := func(names []string) []line {
		var out []line
		for _, n := range names {
			if fs.aliases[n] != "" {
				continue
			}
			out = append(out, line{fs.flagLabel(fs.Lookup(n)), fs.flagText(fs.Lookup(n))})
		}
		return out
	}
	sections := [][]line{append(lines(plain), line{"-h, --help", "show this help"})}
	for _, g := range fs.groups {
		sections = append(sections, lines(g.names))
	}
	width := 0
	for _, s := range sections {
		for _, l := range s {
			if len(l.label) <= maxLabel {
				width = max(width, len(l.label))
			}
		}
	}
	b.WriteString("\nFlags:\n")
	for i, s := range sections {
		if i > 0 {
			b.WriteString("\n" + wrap(unfold(fs.groups[i-1].title), "", helpWidth) + "\n")
		}
		for _, l := range s {
			writeItem(b, l.label, l.text, width)
		}
	}
}

// writeItem writes "  LABEL  TEXT", TEXT wrapped under itself; a label
// wider than width puts the text on the next line.
func writeItem(b *strings.Builder, label, text string, width int) {
	indent := strings.Repeat(" ", 2+width+2)
	if len(label) > width {
		b.WriteString("  " + label + "\n")
		b.WriteString(wrap(text, indent, helpWidth) + "\n")
		return
	}
	first := "  " + label + strings.Repeat(" ", width-len(label)+2)
	b.WriteString(first + strings.TrimPrefix(wrap(text, indent, helpWidth), indent) + "\n")
}

// flagLabel is "--name VALUE", with its alias first: "-p, --profile NAME".
func (fs *FlagSet) flagLabel(f *flag.Flag) string {
	label := "--" + f.Name
	for short, long := range fs.aliases {
		if long == f.Name {
			label = "-" + short + ", " + label
		}
	}
	if v := valueName(f); v != "" {
		label += " " + v
	}
	return label
}

// valueName is the name of a flag's value: the `quoted` word of its usage,
// else its type in capitals; "" for a boolean flag.
func valueName(f *flag.Flag) string {
	if !takesValue(f) {
		return ""
	}
	name, _ := flag.UnquoteUsage(f)
	if name == "" || name == "value" {
		name = "value"
	}
	return strings.ToUpper(name)
}

// flagText is the usage, with its default when the usage does not say it.
func (fs *FlagSet) flagText(f *flag.Flag) string {
	_, usage := flag.UnquoteUsage(f)
	switch f.DefValue {
	case "", "false", "0", "0s", "[]":
	default:
		if !strings.Contains(usage, "default") {
			usage += " (default " + f.DefValue + ")"
		}
	}
	return usage
}

// unfold joins the lines of each paragraph (paragraphs are separated by
// blank lines), for wrap to fill them again.
func unfold(text string) string {
	paras := strings.Split(text, "\n\n")
	for i, p := range paras {
		paras[i] = strings.Join(strings.Fields(p), " ")
	}
	return strings.Join(paras, "\n\n")
}

// wrap fills text to width, every line starting with indent; blank lines
// and lines that start with spaces (examples) are kept as they are.
func wrap(text, indent string, width int) string {
	var out []string
	for _, para := range strings.Split(text, "\n") {
		if para == "" || strings.HasPrefix(para, " ") {
			out = append(out, indent+para)
			continue
		}
		line := indent
		for _, word := range strings.Fields(para) {
			if len(line) > len(indent) && len(line)+1+len(word) > width {
				out = append(out, line)
				line = indent
			}
			if len(line) > len(indent) {
				line += " "
			}
			line += word
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

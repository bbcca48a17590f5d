package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// sed [-in] [-e SCRIPT]... [SCRIPT] [FILE]...: substitutions only
// (s/RE/REPLACEMENT/[gpN], any delimiter, several separated by ; or a
// newline), POSIX basic regular expressions, -i editing files in place
// (mode and owner kept). Hand-written: what node commands and tests run
// of sed is this much, and no maintained Go sed exists to take it from.
func sed(args []string) int {
	var scripts []string
	inPlace, quiet := false, false
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" {
		a := args[0]
		args = args[1:]
		if a == "--" {
			break
		}
		if a == "-e" {
			if len(args) == 0 {
				return fail("sed", "option requires an argument -- 'e'")
			}
			scripts, args = append(scripts, args[0]), args[1:]
			continue
		}
		for _, c := range a[1:] {
			switch c {
			case 'i':
				inPlace = true
			case 'n':
				quiet = true
			default:
				return fail("sed", "invalid option -- '%c' (the fake node userland has -i, -n and -e)", c)
			}
		}
	}
	if len(scripts) == 0 {
		if len(args) == 0 {
			return fail("sed", "usage: sed [-in] [-e SCRIPT]... [SCRIPT] [FILE]...")
		}
		scripts, args = []string{args[0]}, args[1:]
	}
	var subs []substitution
	for _, s := range scripts {
		more, err := parseScript(s)
		if err != nil {
			return fail("sed", "-e expression: %v", err)
		}
		subs = append(subs, more...)
	}
	if inPlace {
		if len(args) == 0 {
			return fail("sed", "no input files")
		}
		code := 0
		for _, f := range args {
			if err := editInPlace(f, subs, quiet); err != nil {
				code = fail("sed", "%v", err)
			}
		}
		return code
	}
	var in []byte
	if len(args) == 0 {
		args = []string{"-"}
	}
	for _, f := range args {
		var b []byte
		var err error
		if f == "-" {
			b, err = io.ReadAll(os.Stdin)
		} else {
			b, err = os.ReadFile(f)
		}
		if err != nil {
			return fail("sed", "%s: %v", f, unwrapPath(err))
		}
		in = append(in, b...)
	}
	os.Stdout.Write(apply(in, subs, quiet))
	return 0
}

// substitution is one s command.
type substitution struct {
	re          *regexp.Regexp
	replacement string
	global      bool
	print       bool
	nth         int // replace only the nth match (0: the first, or all with global)
}

// parseScript reads s commands separated by ; or newlines.
func parseScript(script string) ([]substitution, error) {
	var out []substitution
	rest := script
	for {
		rest = strings.TrimLeft(rest, " \t\n;")
		if rest == "" {
			return out, nil
		}
		if rest[0] != 's' || len(rest) < 2 {
			return nil, fmt.Errorf("unsupported command %q (the fake node userland's sed has only s)", rest[:1])
		}
		delim := rest[1]
		if delim == '\\' || delim == '\n' {
			return nil, errors.New("bad delimiter")
		}
		re, after, err := delimited(rest[2:], delim, true)
		if err != nil {
			return nil, err
		}
		repl, after, err := delimited(after, delim, false)
		if err != nil {
			return nil, err
		}
		var sub substitution
		i := 0
		for ; i < len(after) && after[i] != ';' && after[i] != '\n'; i++ {
			switch c := after[i]; {
			case c == 'g':
				sub.global = true
			case c == 'p':
				sub.print = true
			case c >= '1' && c <= '9':
				j := i
				for j < len(after) && after[j] >= '0' && after[j] <= '9' {
					j++
				}
				sub.nth, _ = strconv.Atoi(after[i:j])
				i = j - 1
			case c == ' ' || c == '\t':
			default:
				return nil, fmt.Errorf("unknown option to `s': %q", c)
			}
		}
		ere, err := basicToExtended(re)
		if err != nil {
			return nil, err
		}
		if sub.re, err = regexp.CompilePOSIX(ere); err != nil {
			return nil, fmt.Errorf("%q: %v", re, err)
		}
		sub.replacement = repl
		out = append(out, sub)
		rest = after[i:]
	}
}

// delimited splits s at the first delim not escaped with a backslash (nor,
// in a regular expression, inside a bracket expression); an escaped delim
// becomes the plain character.
func delimited(s string, delim byte, regex bool) (part, rest string, err error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == delim:
			b.WriteByte(delim)
			i++
		case s[i] == '\\' && i+1 < len(s):
			b.WriteString(s[i : i+2])
			i++
		case s[i] == '[' && regex:
			end := bracketEnd(s, i)
			if end < 0 {
				return "", "", errors.New("unterminated [")
			}
			b.WriteString(s[i : end+1])
			i = end
		case s[i] == delim:
			return b.String(), s[i+1:], nil
		default:
			b.WriteByte(s[i])
		}
	}
	return "", "", errors.New("unterminated `s' command")
}

// bracketEnd is the index of the ] that closes the bracket expression
// opening at s[i] ("[]a]", "[^]a]" and "[[:digit:]]" included), or -1.
func bracketEnd(s string, i int) int {
	j := i + 1
	if j < len(s) && s[j] == '^' {
		j++
	}
	if j < len(s) && s[j] == ']' {
		j++
	}
	for j < len(s) && s[j] != ']' {
		if s[j] == '[' && j+1 < len(s) && (s[j+1] == ':' || s[j+1] == '.' || s[j+1] == '=') {
			if k := strings.Index(s[j+2:], string(s[j+1])+"]"); k >= 0 {
				j += k + 4
				continue
			}
		}
		j++
	}
	if j >= len(s) {
		return -1
	}
	return j
}

// basicToExtended rewrites a POSIX basic regular expression (with GNU's
// \+ \? \|) as the extended syntax Go's POSIX mode reads.
func basicToExtended(bre string) (string, error) {
	var b strings.Builder
	atStart := true // where * is literal and ^ an anchor
	for i := 0; i < len(bre); i++ {
		c := bre[i]
		start := atStart
		atStart = false
		switch {
		case c == '\\' && i+1 < len(bre):
			i++
			switch n := bre[i]; n {
			case '(', '|':
				b.WriteByte(n)
				atStart = true
			case ')', '{', '}', '+', '?':
				b.WriteByte(n)
			case 'n':
				b.WriteString(`\n`)
			case 't':
				b.WriteString(`\t`)
			case '.', '*', '[', ']', '\\', '^', '$', '/':
				b.WriteString(regexp.QuoteMeta(string(n)))
			default:
				if n >= '1' && n <= '9' {
					return "", fmt.Errorf("back-reference \\%c: not in the fake node userland's sed", n)
				}
				b.WriteString(regexp.QuoteMeta(string(n)))
			}
		case c == '[':
			j := bracketEnd(bre, i)
			if j < 0 {
				return "", errors.New("unterminated [")
			}
			// Inside brackets a backslash is literal in POSIX, an escape in Go.
			b.WriteString(strings.ReplaceAll(bre[i:j+1], `\`, `\\`))
			i = j
		case c == '*' && start:
			b.WriteString(`\*`)
		case c == '^' && !start:
			b.WriteString(`\^`)
		case c == '^':
			b.WriteByte('^')
			atStart = true
		case c == '$' && i+1 < len(bre) && !strings.HasPrefix(bre[i+1:], `\)`) && !strings.HasPrefix(bre[i+1:], `\|`):
			b.WriteString(`\$`)
		case strings.IndexByte("(){}+?|", c) >= 0:
			b.WriteString(regexp.QuoteMeta(string(c)))
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// apply runs the substitutions over every line of in.
func apply(in []byte, subs []substitution, quiet bool) []byte {
	var out bytes.Buffer
	lines := strings.SplitAfter(string(in), "\n")
	for _, l := range lines {
		if l == "" {
			continue
		}
		line, nl := strings.CutSuffix(l, "\n")
		for _, s := range subs {
			var done bool
			line, done = s.substitute(line)
			if done && s.print {
				out.WriteString(line + "\n")
			}
		}
		if !quiet {
			out.WriteString(line)
			if nl {
				out.WriteByte('\n')
			}
		}
	}
	return out.Bytes()
}

// substitute replaces in line as the s command says; done is whether it did.
func (s substitution) substitute(line string) (string, bool) {
	matches := s.re.FindAllStringSubmatchIndex(line, -1)
	if len(matches) == 0 {
		return line, false
	}
	var b strings.Builder
	last, done := 0, false
	for i, m := range matches {
		want := (s.nth == 0 && (s.global || i == 0)) || (s.nth > 0 && (i+1 == s.nth || s.global && i+1 > s.nth))
		if !want {
			continue
		}
		b.WriteString(line[last:m[0]])
		b.WriteString(s.expand(line, m))
		last, done = m[1], true
	}
	b.WriteString(line[last:])
	return b.String(), done
}

// expand is the replacement for one match: & the match, \1..\9 its
// groups, \n a newline, \X the character X.
func (s substitution) expand(line string, m []int) string {
	var b strings.Builder
	r := s.replacement
	for i := 0; i < len(r); i++ {
		switch {
		case r[i] == '&':
			b.WriteString(line[m[0]:m[1]])
		case r[i] == '\\' && i+1 < len(r):
			i++
			switch n := r[i]; {
			case n >= '1' && n <= '9':
				if g := int(n - '0'); 2*g+1 < len(m) && m[2*g] >= 0 {
					b.WriteString(line[m[2*g]:m[2*g+1]])
				}
			case n == 'n':
				b.WriteByte('\n')
			default:
				b.WriteByte(n)
			}
		default:
			b.WriteByte(r[i])
		}
	}
	return b.String()
}

// editInPlace rewrites file with the substitutions applied: a new file
// beside it, with its mode and owner, renamed over it.
func editInPlace(file string, subs []substitution, quiet bool) error {
	fi, err := os.Stat(file)
	if err != nil {
		return fmt.Errorf("can't open '%s': %v", file, unwrapPath(err))
	}
	in, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("can't read '%s': %v", file, unwrapPath(err))
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), "sed")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(apply(in, subs, quiet)); err != nil {
		tmp.Close()
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if err := tmp.Chown(int(st.Uid), int(st.Gid)); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

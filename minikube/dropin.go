package minikube

import (
	"fmt"
	"strings"
)

// The kubelet flags live on the effective ExecStart= line of minikube's
// drop-in (the line reads no environment file). These functions edit that
// line as text, so that removing what was added gives back the same bytes.

// execStart is the effective ExecStart of a unit file: the last non-empty
// assignment in [Service] not followed by a reset ("ExecStart=").
type execStart struct {
	first, last int    // physical lines of the logical line (continuations end in "\")
	value       string // the command line, continuations joined
}

func effectiveExecStart(unit string) (execStart, bool) {
	ls := strings.Split(unit, "\n")
	var cur execStart
	found, inService := false, false
	for i := 0; i < len(ls); i++ {
		first := i
		logical := ls[i]
		for strings.HasSuffix(strings.TrimRight(logical, " \t"), `\`) && i+1 < len(ls) {
			logical = strings.TrimSuffix(strings.TrimRight(logical, " \t"), `\`) + " " + ls[i+1]
			i++
		}
		t := strings.TrimSpace(logical)
		switch {
		case t == "" || t[0] == '#' || t[0] == ';':
		case strings.HasPrefix(t, "["):
			inService = t == "[Service]"
		case inService:
			k, v, ok := strings.Cut(t, "=")
			if !ok || strings.TrimSpace(k) != "ExecStart" {
				continue
			}
			v = strings.TrimSpace(v)
			if v == "" {
				cur, found = execStart{}, false
				continue
			}
			cur, found = execStart{first: first, last: i, value: v}, true
		}
	}
	return cur, found
}

// splitCommand splits a command line into words, honouring the quotes
// systemd understands (minikube writes none, but a user may have).
func splitCommand(s string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				w.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// flagIn returns the value of --key in args ("--key=v" or "--key v"; one
// dash works for the kubelet too).
func flagIn(args []string, key string) (string, bool) {
	for i, a := range args {
		name := strings.TrimLeft(a, "-")
		if name == a {
			continue
		}
		if v, ok := strings.CutPrefix(name, key+"="); ok {
			return v, true
		}
		if name == key && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// dropInConflicts names our flags that the drop-in sets to other values.
func dropInConflicts(unit string) []string {
	es, ok := effectiveExecStart(unit)
	if !ok {
		return nil
	}
	args := splitCommand(es.value)
	var bad []string
	for _, f := range kubeletFlags() {
		if v, ok := flagIn(args, f.key); ok && v != f.value {
			bad = append(bad, "--"+f.key+"="+v)
		}
	}
	return bad
}

// addFlags appends our flags that are missing to the effective ExecStart.
func addFlags(unit string) (string, bool, error) {
	es, ok := effectiveExecStart(unit)
	if !ok {
		return "", false, fmt.Errorf("no ExecStart= line with a command in its [Service] section")
	}
	if bad := dropInConflicts(unit); len(bad) > 0 {
		return "", false, fmt.Errorf("the kubelet already runs with %s: remove it (and its extra-config) first, gcrcred will not replace another credential provider", strings.Join(bad, " "))
	}
	args := splitCommand(es.value)
	var add string
	for _, f := range kubeletFlags() {
		if _, ok := flagIn(args, f.key); !ok {
			add += " " + f.String()
		}
	}
	if add == "" {
		return unit, false, nil
	}
	ls := strings.Split(unit, "\n")
	line := ls[es.last]
	trimmed := strings.TrimRight(line, " \t\r")
	ls[es.last] = trimmed + add + line[len(trimmed):]
	return strings.Join(ls, "\n"), true, nil
}

// removeFlags takes our flags, with our values, off the effective ExecStart.
func removeFlags(unit string) (string, bool) {
	es, ok := effectiveExecStart(unit)
	if !ok {
		return unit, false
	}
	ls := strings.Split(unit, "\n")
	changed := false
	for i := es.first; i <= es.last; i++ {
		for _, f := range kubeletFlags() {
			if l, ok := cutWord(ls[i], f.String()); ok {
				ls[i], changed = l, true
			}
		}
	}
	return strings.Join(ls, "\n"), changed
}

// cutWord removes " word" from line where word stands alone.
func cutWord(line, word string) (string, bool) {
	for from := 0; ; {
		i := strings.Index(line[from:], " "+word)
		if i < 0 {
			return line, false
		}
		i += from
		end := i + 1 + len(word)
		if end == len(line) || strings.ContainsRune(" \t\r\\", rune(line[end])) {
			return line[:i] + line[end:], true
		}
		from = end
	}
}

// hasOurFlags reports whether args carry both flags with our values.
func hasOurFlags(args []string) bool {
	for _, f := range kubeletFlags() {
		if v, ok := flagIn(args, f.key); !ok || v != f.value {
			return false
		}
	}
	return true
}

// hasAnyOurFlag reports whether args carry either flag with our value.
func hasAnyOurFlag(args []string) bool {
	for _, f := range kubeletFlags() {
		if v, ok := flagIn(args, f.key); ok && v == f.value {
			return true
		}
	}
	return false
}

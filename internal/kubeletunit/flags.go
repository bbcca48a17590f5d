package kubeletunit

import (
	"fmt"
	"strings"

	"github.com/gcrcred/gcrcred/internal/nodelayout"
)

// The kubelet flags are read from command lines as the kubelet's flag
// parser reads them, and edited as text where they live.

// Flag is a kubelet flag with its value.
type Flag = nodelayout.Flag

// SplitCommand splits a command line into words, honouring the quotes
// systemd understands.
func SplitCommand(s string) []string {
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
		case r == ' ' || r == '\t' || r == '\r' || r == '\n':
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

// FlagValues are every value of --key in args, in order ("--key=v" or
// "--key v"; one dash works for the kubelet too).
func FlagValues(args []string, key string) []string {
	var out []string
	for i, a := range args {
		name := strings.TrimLeft(a, "-")
		if name == a || len(a)-len(name) > 2 {
			continue
		}
		if v, ok := strings.CutPrefix(name, key+"="); ok {
			out = append(out, v)
		} else if name == key && i+1 < len(args) {
			out = append(out, args[i+1])
		}
	}
	return out
}

// FlagIn returns the last value of --key in args, as the kubelet's flag
// parser would.
func FlagIn(args []string, key string) (string, bool) {
	vs := FlagValues(args, key)
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// Lookup is the value flags give key.
func Lookup(flags []Flag, key string) (string, bool) {
	for _, f := range flags {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}

// ProviderFlags are the two provider flags args carry.
func ProviderFlags(args []string) []Flag {
	var out []Flag
	for _, key := range []string{nodelayout.FlagProviderConfig, nodelayout.FlagProviderBinDir} {
		if v, ok := FlagIn(args, key); ok {
			out = append(out, Flag{Key: key, Value: v})
		}
	}
	return out
}

// HasFlags reports whether args carry every flag with its value.
func HasFlags(args []string, flags []Flag) bool {
	for _, f := range flags {
		if v, ok := FlagIn(args, f.Key); !ok || v != f.Value {
			return false
		}
	}
	return true
}

// HasAnyFlag reports whether args carry one of the flags with its value.
func HasAnyFlag(args []string, flags []Flag) bool {
	for _, f := range flags {
		if v, ok := FlagIn(args, f.Key); ok && v == f.Value {
			return true
		}
	}
	return false
}

// FlagList is the flags as command-line words, space-separated.
func FlagList(flags []Flag) string {
	var s []string
	for _, f := range flags {
		s = append(s, f.String())
	}
	return strings.Join(s, " ")
}

// conflicts names the flags args set to other values.
func conflicts(args []string, flags []Flag) []string {
	var bad []string
	for _, f := range flags {
		if v, ok := FlagIn(args, f.Key); ok && v != f.Value {
			bad = append(bad, "--"+f.Key+"="+v)
		}
	}
	return bad
}

// missingFlags is the text to append for the flags args lacks: " --a=x --b=y".
func missingFlags(args []string, flags []Flag) string {
	var add string
	for _, f := range flags {
		if _, ok := FlagIn(args, f.Key); !ok {
			add += " " + f.String()
		}
	}
	return add
}

// removeWord takes the whole word w out of s (with the blank before it, or
// after it when it comes first), where a word is bounded by the start or
// end, blanks, quotes, "=" or a line-continuation backslash.
func removeWord(s, w string) (string, bool) {
	for from := 0; from <= len(s); {
		i := strings.Index(s[from:], w)
		if i < 0 {
			return s, false
		}
		i += from
		end := i + len(w)
		before := i == 0 || strings.ContainsRune(" \t\"'=", rune(s[i-1]))
		after := end == len(s) || strings.ContainsRune(" \t\r\n\"'\\", rune(s[end]))
		if !before || !after {
			from = i + 1
			continue
		}
		switch {
		case i > 0 && (s[i-1] == ' ' || s[i-1] == '\t'):
			return s[:i-1] + s[end:], true
		case end < len(s) && (s[end] == ' ' || s[end] == '\t'):
			return s[:i] + s[end+1:], true
		}
		return s[:i] + s[end:], true
	}
	return s, false
}

// removeFlagWords takes each flag (with its value) out of s.
func removeFlagWords(s string, flags []Flag) (string, bool) {
	changed := false
	for _, f := range flags {
		for {
			out, ok := removeWord(s, f.String())
			if !ok {
				break
			}
			s, changed = out, true
		}
	}
	return s, changed
}

// AddExecStartFlags appends the missing flags to the effective ExecStart
// of one unit file (minikube's drop-in).
func AddExecStartFlags(content string, flags []Flag) (string, bool, error) {
	es, ok := EffectiveExecStart(content)
	if !ok {
		return "", false, fmt.Errorf("no ExecStart= line with a command in its [Service] section")
	}
	args := SplitCommand(es.Value)
	if bad := conflicts(args, flags); len(bad) > 0 {
		return "", false, fmt.Errorf("the kubelet already runs with %s: gcrcred will not replace another credential provider", strings.Join(bad, " "))
	}
	add := missingFlags(args, flags)
	if add == "" {
		return content, false, nil
	}
	ls := strings.Split(content, "\n")
	line := ls[es.Last]
	trimmed := strings.TrimRight(line, " \t\r")
	ls[es.Last] = trimmed + add + line[len(trimmed):]
	return strings.Join(ls, "\n"), true, nil
}

// RemoveExecStartFlags takes the flags, with their values, off the
// effective ExecStart of one unit file.
func RemoveExecStartFlags(content string, flags []Flag) (string, bool) {
	es, ok := EffectiveExecStart(content)
	if !ok {
		return content, false
	}
	ls := strings.Split(content, "\n")
	changed := false
	for i := es.First; i <= es.Last; i++ {
		if l, ok := removeFlagWords(ls[i], flags); ok {
			ls[i], changed = l, true
		}
	}
	return strings.Join(ls, "\n"), changed
}

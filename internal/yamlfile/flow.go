package yamlfile

import (
	"fmt"
	"strconv"
	"strings"
)

// inline writes the scalar or flow collection text, all of a line's rest,
// as JSON.
func inline(out *strings.Builder, text string, num int) error {
	f := &flow{s: text, num: num}
	if err := f.value(out, false); err != nil {
		return err
	}
	if f.skipSpace(); f.i < len(f.s) {
		return fmt.Errorf("line %d: unexpected %q after the value", num, clip(f.s[f.i:]))
	}
	return nil
}

// quoted reads the quoted scalar at the start of s: its value and length.
func quoted(s string, num int) (string, int, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q && q == '\'' && i+1 < len(s) && s[i+1] == '\'':
			b.WriteByte('\'')
			i++
		case c == q:
			return b.String(), i + 1, nil
		case c == '\\' && q == '"':
			r, n, err := escape(s[i+1:], num)
			if err != nil {
				return "", 0, err
			}
			b.WriteString(r)
			i += n
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, unsupported("line %d: a quoted scalar that goes on past the line", num)
}

// escape reads a double-quoted scalar's escape (after the backslash).
func escape(s string, num int) (string, int, error) {
	if s == "" {
		return "", 0, unsupported("line %d: a line break escaped in a quoted scalar", num)
	}
	simple := map[byte]string{'0': "\x00", 'a': "\a", 'b': "\b", 't': "\t", '\t': "\t", 'n': "\n", 'v': "\v", 'f': "\f",
		'r': "\r", 'e': "\x1b", ' ': " ", '"': "\"", '\\': "\\", 'N': "\u0085", '_': "\u00a0", 'L': "\u2028", 'P': "\u2029"}
	if r, ok := simple[s[0]]; ok {
		return r, 1, nil
	}
	width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[s[0]]
	if width == 0 || len(s) < 1+width {
		return "", 0, fmt.Errorf("line %d: unknown escape \\%c", num, s[0])
	}
	n, err := strconv.ParseUint(s[1:1+width], 16, 32)
	if err != nil {
		return "", 0, fmt.Errorf("line %d: bad escape \\%s", num, clip(s[:1+width]))
	}
	return string(rune(n)), 1 + width, nil
}

// flow reads a value on one line: a quoted or plain scalar, or a flow
// sequence or mapping of them.
type flow struct {
	s   string
	i   int
	num int
}

func (f *flow) skipSpace() {
	for f.i < len(f.s) && f.s[f.i] == ' ' {
		f.i++
	}
}

// value writes one value as JSON; inFlow says it is inside [...] or {...},
// where , ] } end a plain scalar.
func (f *flow) value(out *strings.Builder, inFlow bool) error {
	f.skipSpace()
	if f.i >= len(f.s) {
		out.WriteString("null")
		return nil
	}
	switch c := f.s[f.i]; c {
	case '"', '\'':
		s, n, err := quoted(f.s[f.i:], f.num)
		if err != nil {
			return err
		}
		f.i += n
		out.WriteString(jsonString(s))
		return nil
	case '[':
		return f.collection(out, ']')
	case '{':
		return f.collection(out, '}')
	case '&', '*', '!', '|', '>', '%', '@', '`':
		return unsupported("line %d: %q (anchors, aliases, tags and block scalars are not read)", f.num, clip(f.s[f.i:]))
	case ',', ']', '}', '\t':
		return fmt.Errorf("line %d: a value is missing before %q", f.num, clip(f.s[f.i:]))
	}
	start := f.i
	for f.i < len(f.s) {
		c := f.s[f.i]
		if inFlow && strings.IndexByte(",]}", c) >= 0 || c == ':' && (f.i+1 == len(f.s) || f.s[f.i+1] == ' ' || inFlow && strings.IndexByte(",]}", f.s[f.i+1]) >= 0) {
			break
		}
		if inFlow && !flowPlain(c, f.i == start) {
			return unsupported("line %d: %q in a flow collection (quote it)", f.num, clip(f.s[start:]))
		}
		f.i++
	}
	plain := strings.TrimRight(f.s[start:f.i], " ")
	if plain == "" {
		return fmt.Errorf("line %d: a value is missing before %q", f.num, clip(f.s[f.i:]))
	}
	if plain == "-" || strings.HasPrefix(plain, "- ") || plain == "?" || strings.HasPrefix(plain, "? ") {
		return fmt.Errorf("line %d: %q where a value belongs", f.num, clip(plain))
	}
	if !inFlow && f.i < len(f.s) {
		return fmt.Errorf("line %d: a mapping inside %q (quote the value if the colon is part of it)", f.num, clip(f.s))
	}
	v, err := resolve(plain)
	if err != nil {
		return fmt.Errorf("line %d: %w", f.num, err)
	}
	out.WriteString(v)
	return nil
}

// collection reads [a, b] or {k: v, ...}, the opening bracket at f.i.
func (f *flow) collection(out *strings.Builder, end byte) error {
	out.WriteByte(f.s[f.i])
	f.i++
	seen := map[string]bool{}
	for n := 0; ; n++ {
		f.skipSpace()
		if f.i < len(f.s) && f.s[f.i] == end {
			f.i++
			out.WriteByte(end)
			return nil
		}
		if n > 0 {
			if f.i >= len(f.s) || f.s[f.i] != ',' {
				return unsupported("line %d: a flow collection that is not closed on its line", f.num)
			}
			f.i++
			if f.skipSpace(); f.i < len(f.s) && f.s[f.i] == end {
				continue // a trailing comma
			}
			out.WriteByte(',')
		}
		if end == '}' {
			var key strings.Builder
			if err := f.value(&key, true); err != nil {
				return err
			}
			k := key.String()
			if k == "" || k[0] != '"' {
				return unsupported("line %d: a flow mapping key that is not a string", f.num)
			}
			if seen[k] {
				return unsupported("line %d: key %s given twice", f.num, clip(k))
			}
			seen[k] = true
			if f.skipSpace(); f.i >= len(f.s) || f.s[f.i] != ':' {
				return unsupported("line %d: a flow mapping entry without a value", f.num)
			}
			f.i++
			out.WriteString(k)
			out.WriteByte(':')
		}
		if err := f.value(out, true); err != nil {
			return err
		}
	}
}

// clip shortens a value quoted in a message.
func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

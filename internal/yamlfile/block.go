package yamlfile

import (
	"fmt"
	"strings"
)

// parser reads the block structure: lines, their indentation, and what
// each starts (a sequence entry, a key, a scalar).
type parser struct {
	lines []line
	i     int
}

func (p *parser) errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// isEntry reports whether text is a block sequence entry ("-" or "- x").
func isEntry(text string) bool { return text == "-" || strings.HasPrefix(text, "- ") }

// block writes the block node at the current line, indented ind, as JSON.
func (p *parser) block(out *strings.Builder, ind int) error {
	l := p.lines[p.i]
	if isEntry(l.text) {
		return p.sequence(out, ind)
	}
	if _, _, ok, err := splitKey(l.text, l.num); err != nil {
		return err
	} else if ok {
		return p.mapping(out, ind)
	}
	p.i++
	if err := inline(out, l.text, l.num); err != nil {
		return err
	}
	return p.noContinuation(ind - 1)
}

// noContinuation refuses lines indented more than ind after a scalar: a
// multi-line scalar.
func (p *parser) noContinuation(ind int) error {
	if p.i < len(p.lines) && p.lines[p.i].indent > ind {
		return unsupported("line %d: a scalar continued on the next line", p.lines[p.i].num)
	}
	return nil
}

func (p *parser) mapping(out *strings.Builder, ind int) error {
	out.WriteByte('{')
	seen := map[string]bool{}
	for p.i < len(p.lines) && p.lines[p.i].indent == ind && !isEntry(p.lines[p.i].text) {
		l := p.lines[p.i]
		key, rest, ok, err := splitKey(l.text, l.num)
		if err != nil {
			return err
		}
		if !ok {
			return p.errorf("line %d: %q is not a key: value in this mapping", l.num, clip(l.text))
		}
		if seen[key] {
			return unsupported("line %d: key %q given twice", l.num, clip(key))
		}
		if len(seen) > 0 {
			out.WriteByte(',')
		}
		seen[key] = true
		out.WriteString(jsonString(key))
		out.WriteByte(':')
		p.i++
		if rest != "" {
			if err := inline(out, rest, l.num); err != nil {
				return err
			}
			if err := p.noContinuation(ind); err != nil {
				return err
			}
			continue
		}
		switch {
		case p.i < len(p.lines) && p.lines[p.i].indent > ind:
			err = p.block(out, p.lines[p.i].indent)
		case p.i < len(p.lines) && p.lines[p.i].indent == ind && isEntry(p.lines[p.i].text):
			err = p.sequence(out, ind) // "key:\n- item", as kubectl and yaml.v2 write it
		default:
			out.WriteString("null")
		}
		if err != nil {
			return err
		}
	}
	out.WriteByte('}')
	return p.dedented(ind)
}

func (p *parser) sequence(out *strings.Builder, ind int) error {
	out.WriteByte('[')
	for n := 0; p.i < len(p.lines) && p.lines[p.i].indent == ind && isEntry(p.lines[p.i].text); n++ {
		if n > 0 {
			out.WriteByte(',')
		}
		l := p.lines[p.i]
		rest := strings.TrimLeft(l.text[1:], " ")
		col := ind + len(l.text) - len(rest)
		var err error
		switch _, _, isKey, kerr := splitKey(rest, l.num); {
		case kerr != nil:
			return kerr
		case rest == "":
			p.i++
			if p.i < len(p.lines) && p.lines[p.i].indent > ind {
				err = p.block(out, p.lines[p.i].indent)
			} else {
				out.WriteString("null")
			}
		case isEntry(rest) || isKey:
			// "- key: v" or "- - x": a node that starts on this line at col.
			p.lines[p.i] = line{num: l.num, indent: col, text: rest}
			err = p.block(out, col)
		default:
			p.i++
			if err = inline(out, rest, l.num); err == nil {
				err = p.noContinuation(ind)
			}
		}
		if err != nil {
			return err
		}
	}
	out.WriteByte(']')
	return p.dedented(ind)
}

// dedented checks that a collection at ind is followed by a line indented
// less (or by nothing).
func (p *parser) dedented(ind int) error {
	if p.i < len(p.lines) && p.lines[p.i].indent > ind {
		return p.errorf("line %d: indented more than the lines before it", p.lines[p.i].num)
	}
	return nil
}

// splitKey splits "key: rest" (or "key:"): ok is false when text is not a
// mapping entry. Keys are strings, plain or quoted; a plain key YAML would
// read as another type, or a complex one, is refused.
func splitKey(text string, num int) (key, rest string, ok bool, err error) {
	if text == "" {
		return "", "", false, nil
	}
	if text[0] == '"' || text[0] == '\'' {
		s, n, err := quoted(text, num)
		if err != nil {
			return "", "", false, err
		}
		after := text[n:]
		if after != ":" && !strings.HasPrefix(after, ": ") {
			return "", "", false, nil
		}
		return s, strings.TrimLeft(after[1:], " "), true, nil
	}
	if text[0] == '?' && (len(text) == 1 || text[1] == ' ') {
		return "", "", false, unsupported("line %d: a complex key (?)", num)
	}
	i := strings.Index(text, ": ")
	if i < 0 && strings.HasSuffix(text, ":") {
		i = len(text) - 1
	}
	if i < 0 {
		return "", "", false, nil
	}
	key = text[:i]
	switch {
	case key == "" || strings.ContainsRune(",]}", rune(key[0])):
		return "", "", false, fmt.Errorf("line %d: %q is not a key YAML takes", num, clip(key))
	case !plainKey(key):
		return "", "", false, unsupported("line %d: key %q (quote it)", num, clip(key))
	case strings.ContainsRune("[{&*!|>%@`", rune(text[0])):
		// A flow collection or a node property where a key would be.
		if text[0] == '[' || text[0] == '{' {
			return "", "", false, nil
		}
		return "", "", false, unsupported("line %d: %q (anchors, aliases, tags and block scalars are not read)", num, clip(key))
	}
	if v, err := resolve(key); err != nil || v[0] != '"' {
		return "", "", false, unsupported("line %d: key %q is not a string", num, clip(key))
	}
	return key, strings.TrimLeft(text[i+1:], " "), true, nil
}

// plainKey reports whether key is a plain key of the kind configuration
// files have: letters, digits and . _ / -, starting with neither - nor /.
func plainKey(key string) bool {
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || i > 0 && (c == '-' || c == '/')) {
			return false
		}
	}
	return true
}

// flowPlain reports whether c may be in a plain scalar inside [...] or
// {...}: letters, digits, spaces and . _ / = + ~ - * @, and : when no
// space or flow indicator follows (http://host); first a letter, a digit
// or one of . _ / = + ~.
func flowPlain(c byte, first bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("._/=+~", c) >= 0:
		return true
	case first:
		return false
	}
	return strings.IndexByte(" -*@:", c) >= 0
}

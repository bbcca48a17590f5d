// Package yamlfile reads and writes the YAML of the few configuration files
// gcrcred touches: the kubelet's CredentialProviderConfig (written by
// `kubelet-config` and the node installer, read back to merge with other
// providers), the kubelet's own config files and k3s/rke2's config.yaml,
// read for a few keys.
//
// It is written here rather than linking a YAML library: every gcrcred
// process, the warm Docker `get` included, runs the package initialisation
// of everything linked, and go.yaml.in/yaml compiles regular expressions
// there (more than half a millisecond on a warm `get`, measured), for files
// only installers read. The reader takes the YAML such files are written
// in, by people and by tools: block mappings and sequences, flow [...] and
// {...}, plain and quoted scalars, comments, or a JSON document; it reads
// scalars as the kubelet's YAML 1.1 reader does (yes/on are true, 0644 is
// octal). What it does not take (anchors and aliases, tags, block scalars,
// multi-line scalars, several documents, complex keys, duplicate keys) is
// an ErrUnsupported error naming the line, never a value read differently
// from the kubelet: the tests hold every result to sigs.k8s.io/yaml's.
package yamlfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrUnsupported is matched (errors.Is) by an error for YAML that is
// valid but outside what the reader takes.
var ErrUnsupported = errors.New("YAML that gcrcred does not read")

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s (rewrite that part plainly, or the file as JSON)", ErrUnsupported, fmt.Sprintf(format, args...))
}

// Unmarshal reads the YAML (or JSON) document data into v, through JSON as
// sigs.k8s.io/yaml does: v's json tags apply.
func Unmarshal(data []byte, v any) error {
	j, err := ToJSON(data)
	if err != nil {
		return err
	}
	return json.Unmarshal(j, v)
}

// ToJSON is the YAML (or JSON) document data as JSON; an empty document is
// null.
func ToJSON(data []byte) ([]byte, error) {
	if t := bytes.TrimLeft(data, " \r\n"); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		// A JSON document (EKS writes its provider config so), which is
		// also YAML; a multi-line flow collection that is not JSON is not
		// read, nor JSON that YAML would read otherwise (readsAlike).
		if !json.Valid(t) || !readsAlike(t) {
			return nil, unsupported("a document that starts with %c but is not JSON that YAML reads alike", t[0])
		}
		return bytes.TrimSpace(t), nil
	}
	lines, err := split(string(data))
	if err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return []byte("null"), nil
	}
	p := &parser{lines: lines}
	var out strings.Builder
	if err := p.block(&out, lines[0].indent); err != nil {
		return nil, err
	}
	if p.i < len(p.lines) {
		return nil, p.errorf("line %d: this line is indented less than the document's first line", p.lines[p.i].num)
	}
	return []byte(out.String()), nil
}

// readsAlike reports whether the JSON text j reads in YAML as in JSON:
// no escape \/ (YAML 1.1 has none), no tab outside strings, no line break
// between a key and its colon (YAML keys are on one line).
func readsAlike(j []byte) bool {
	inString, lineBreak := false, false
	for i := 0; i < len(j); i++ {
		c := j[i]
		switch {
		case inString && c == '\\':
			if i+1 < len(j) && j[i+1] == '/' {
				return false
			}
			i++
		case inString && c == '"':
			inString, lineBreak = false, false
		case inString:
		case c == '"':
			inString = true
		case c == '\t':
			return false
		case c == '\n' || c == '\r':
			lineBreak = true
		case c == ':' && lineBreak:
			return false
		case c != ' ':
			lineBreak = false
		}
	}
	return true
}

// line is one line with content: its number, indentation and text
// (comments and trailing spaces removed).
type line struct {
	num, indent int
	text        string
}

// split cuts a document into its lines with content.
func split(doc string) ([]line, error) {
	var out []line
	started, marker := false, false
	for i, raw := range strings.Split(strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(doc), "\n") {
		num := i + 1
		text := strings.TrimLeft(raw, " ")
		indent := len(raw) - len(text)
		if strings.HasPrefix(text, "\t") {
			return nil, fmt.Errorf("line %d: a tab in the indentation (YAML indents with spaces)", num)
		}
		text = strings.TrimRight(stripComment(text), " ")
		if strings.ContainsRune(text, '\t') {
			return nil, unsupported("line %d: a tab", num)
		}
		switch {
		case text == "":
			continue
		case text == "---" || strings.HasPrefix(text, "--- "):
			if started || marker || indent > 0 || text != "---" {
				return nil, unsupported("line %d: several documents, or content after ---", num)
			}
			marker = true
			continue
		case text == "..." || strings.HasPrefix(text, "%") && indent == 0:
			return nil, unsupported("line %d: a directive or document end", num)
		}
		started = true
		out = append(out, line{num: num, indent: indent, text: text})
	}
	return out, nil
}

// stripComment removes a comment from a line's content: a # at its start
// or after a space, outside a quoted scalar. A quote opens one only where
// a node starts (the line's start, after "- ", ": ", or [ { , in a flow
// collection), not inside a plain scalar ("it's").
func stripComment(s string) string {
	const (
		node  = iota // where a node may start
		plain        // inside a plain scalar
		after        // after a quoted scalar or a closing bracket
	)
	state, depth := node, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			return s[:i]
		}
		spaceNext := i+1 == len(s) || s[i+1] == ' '
		switch {
		case c == ' ' || c == '\t':
		case state == node && (c == '"' || c == '\''):
			end := closingQuote(s, i)
			if end < 0 {
				return s // unclosed: the parser says so
			}
			i, state = end, after
		case state == node && c == '-' && spaceNext:
		case c == '[' || c == '{':
			if state == node {
				depth++
			}
		case depth > 0 && (c == ']' || c == '}'):
			depth--
			state = after
		case depth > 0 && c == ',':
			state = node
		case c == ':' && (spaceNext || depth > 0 && i+1 < len(s) && strings.IndexByte(",]}", s[i+1]) >= 0):
			state = node
		default:
			if state == node {
				state = plain
			}
		}
	}
	return s
}

// closingQuote is the index of the quote closing the one at s[i], or -1.
func closingQuote(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case q == '"' && s[j] == '\\':
			j++
		case s[j] == q && q == '\'' && j+1 < len(s) && s[j+1] == '\'':
			j++
		case s[j] == q:
			return j
		}
	}
	return -1
}

package yamlfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Marshal writes v as a YAML document the way sigs.k8s.io/yaml does:
// through JSON (v's json tags apply), keys sorted, block style with
// sequences at their key's indentation. A string is written plain when no
// YAML reader could take it for anything else, single-quoted when it has
// YAML syntax in it, double-quoted (JSON's escapes) when it would read as
// a bool, number, null or date, or holds a control character.
func Marshal(v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	var b strings.Builder
	switch doc.(type) {
	case map[string]any, []any:
		writeBlock(&b, doc, 0)
	default:
		b.WriteString(scalar(doc) + "\n")
	}
	return []byte(b.String()), nil
}

// writeBlock writes a non-empty mapping or sequence at indent ind.
func writeBlock(b *strings.Builder, v any, ind int) {
	pad := strings.Repeat(" ", ind)
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			b.WriteString(pad + "{}\n")
			return
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b.WriteString(pad + quoteKey(k) + ":")
			writeValue(b, v[k], ind, false)
		}
	case []any:
		if len(v) == 0 {
			b.WriteString(pad + "[]\n")
			return
		}
		for _, x := range v {
			b.WriteString(pad + "-")
			writeValue(b, x, ind, true)
		}
	}
}

// writeValue writes the value after "key:" or "-" at indent ind: inline
// when it is a scalar or empty, else on the next lines (a sequence under a
// key at the key's indentation, a mapping in a sequence starting on the
// dash's line).
func writeValue(b *strings.Builder, v any, ind int, inSequence bool) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			b.WriteString(" {}\n")
			return
		}
		if inSequence {
			var sub strings.Builder
			writeBlock(&sub, x, ind+2)
			b.WriteString(" " + strings.TrimLeft(sub.String(), " "))
			return
		}
		b.WriteString("\n")
		writeBlock(b, x, ind+2)
	case []any:
		if len(x) == 0 {
			b.WriteString(" []\n")
			return
		}
		b.WriteString("\n")
		if inSequence {
			writeBlock(b, x, ind+2)
		} else {
			writeBlock(b, x, ind)
		}
	default:
		b.WriteString(" " + scalar(v) + "\n")
	}
}

// scalar is a JSON scalar as YAML.
func scalar(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return fmt.Sprint(v)
	case json.Number:
		return v.String()
	case string:
		return quote(v)
	}
	return fmt.Sprint(v)
}

// quote writes a string so that YAML readers read it back as that string.
func quote(s string) string {
	if r, err := resolve(s); s == "" || err != nil || r[0] != '"' || looksLikeDate(s) || strings.ContainsFunc(s, isControl) {
		return jsonString(s)
	}
	if plainSafe(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// quoteKey writes a key: plain only if the reader takes it plain.
func quoteKey(k string) string {
	if q := quote(k); q != k || plainKey(k) {
		return q
	}
	return "'" + strings.ReplaceAll(k, "'", "''") + "'"
}

func isControl(r rune) bool {
	return r < ' ' || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xfeff
}

// plainSafe reports whether s can be written as a plain scalar: no
// indicator first, no ": " or " #" in it, no space at either end, no colon
// last.
func plainSafe(s string) bool {
	switch {
	case strings.ContainsRune("-?:,[]{}#&*!|>'\"%@` ", rune(s[0])) && !(strings.ContainsRune("-?:", rune(s[0])) && len(s) > 1 && s[1] != ' '),
		strings.Contains(s, ": "), strings.Contains(s, " #"), strings.HasSuffix(s, ":"), strings.HasSuffix(s, " "):
		return false
	}
	return true
}

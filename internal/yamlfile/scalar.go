package yamlfile

import (
	"encoding/json"
	"strconv"
	"strings"
)

// keyword is what YAML 1.1 (go.yaml.in/yaml/v2, which the kubelet's
// sigs.k8s.io/yaml uses) reads the plain scalar s as, if it is a null or a
// bool: "null", "true" or "false"; "" otherwise. (A switch, not a map: a
// map literal is built when the process starts.)
func keyword(s string) string {
	switch s {
	case "~", "null", "Null", "NULL":
		return "null"
	case "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE":
		return "true"
	case "n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE":
		return "false"
	}
	return ""
}

// resolve is what the plain scalar s means, as JSON text: null, a bool, a
// number, or a string. Infinities and NaN, which JSON cannot hold (the
// kubelet's reader fails on them too), are refused.
func resolve(s string) (string, error) {
	if k := keyword(s); k != "" {
		return k, nil
	}
	if n, ok, err := number(s); ok || err != nil {
		return n, err
	}
	return jsonString(s), nil
}

// number reads s as YAML 1.1 reads a plain scalar that starts like a
// number: an integer in Go's forms (0x, 0o, 0b, a leading 0 for octal,
// underscores), else a float of the form [-+](.d+|d+(.d*)?)([eE][-+]d+);
// anything else (1:20, a date, 1e400) stays a string.
func number(s string) (text string, ok bool, err error) {
	if s == "" || !strings.ContainsRune("0123456789+-.", rune(s[0])) {
		return "", false, nil
	}
	if strings.EqualFold(strings.TrimLeft(s, "+-"), ".inf") || strings.EqualFold(s, ".nan") {
		return "", false, unsupported("the number %s (JSON has no infinities or NaN)", s)
	}
	if looksLikeDate(s) {
		// YAML 1.1 reads dates and times as timestamps, which readers
		// turn back into text each in its own way: only a bare date is
		// known to stay as written.
		if isDate(s) {
			return "", false, nil
		}
		return "", false, unsupported("the timestamp %s (quote it)", s)
	}
	plain := strings.ReplaceAll(s, "_", "")
	if i, err := strconv.ParseInt(plain, 0, 64); err == nil {
		return strconv.FormatInt(i, 10), true, nil
	}
	if u, err := strconv.ParseUint(plain, 0, 64); err == nil {
		return strconv.FormatUint(u, 10), true, nil
	}
	if isFloat(plain) {
		if f, err := strconv.ParseFloat(plain, 64); err == nil {
			return strconv.FormatFloat(f, 'g', -1, 64), true, nil
		}
	}
	// go.yaml.in/yaml/v2's own reading of 0b and -0b (0b-101 is -5).
	if bin, ok := strings.CutPrefix(plain, "0b"); ok {
		if i, err := strconv.ParseInt(bin, 2, 64); err == nil {
			return strconv.FormatInt(i, 10), true, nil
		}
		if u, err := strconv.ParseUint(bin, 2, 64); err == nil {
			return strconv.FormatUint(u, 10), true, nil
		}
	} else if bin, ok := strings.CutPrefix(plain, "-0b"); ok {
		if i, err := strconv.ParseInt("-"+bin, 2, 64); err == nil {
			return strconv.FormatInt(i, 10), true, nil
		}
	}
	return "", false, nil
}

// isDate reports whether s is exactly YYYY-MM-DD.
func isDate(s string) bool {
	if len(s) != 10 || s[7] != '-' {
		return false
	}
	for i, c := range s {
		if i != 4 && i != 7 && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// isFloat reports whether s is [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
// (YAML 1.1's float, as go.yaml.in/yaml/v2 matches it; by hand: a compiled
// pattern would cost every process).
func isFloat(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	digits := func(s string) (string, int) {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return s[i:], i
	}
	rest, n := digits(s)
	if n == 0 {
		if !strings.HasPrefix(rest, ".") {
			return false
		}
		if rest, n = digits(rest[1:]); n == 0 {
			return false
		}
	} else if strings.HasPrefix(rest, ".") {
		rest, _ = digits(rest[1:])
	}
	if rest == "" {
		return true
	}
	if rest[0] != 'e' && rest[0] != 'E' {
		return false
	}
	rest = rest[1:]
	if rest != "" && (rest[0] == '+' || rest[0] == '-') {
		rest = rest[1:]
	}
	rest, n = digits(rest)
	return n > 0 && rest == ""
}

// looksLikeDate reports whether s starts as a YAML 1.1 timestamp does
// (four digits and a dash): the writer quotes such strings, which some
// readers turn into times.
func looksLikeDate(s string) bool {
	if len(s) < 5 || s[4] != '-' {
		return false
	}
	for _, c := range s[:4] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// jsonString is s as a JSON string.
func jsonString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

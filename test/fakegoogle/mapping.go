package fakegoogle

// Attribute mappings and conditions of an OIDC pool provider, as Google
// evaluates them on a subject token's claims: CEL, of which the fake knows
// what gcrcred's recipes use. A mapping is a concatenation (+) of string
// literals ('...' or "...") and claims (assertion.NAME, assertion['NAME'],
// assertion['kubernetes.io']['namespace'], any depth); a condition is one
// mapping compared (== or !=) with another. The fake evaluates them on the
// claims as the JSON object they are, independently of gcrcred's own
// reading of the token (internal/podidentity), so that the two can disagree
// in a test the way gcrcred and Google could.

import (
	"errors"
	"fmt"
	"strings"
)

// SubjectAttribute is the attribute whose value becomes the principal.
const SubjectAttribute = "google.subject"

// mapping is a parsed attribute mapping expression.
type mapping []term

// term is a literal (path nil) or a claim path.
type term struct {
	literal string
	path    []string
}

// parseMapping reads expr.
func parseMapping(expr string) (mapping, error) {
	var m mapping
	rest := strings.TrimSpace(expr)
	for {
		var t term
		var err error
		if t, rest, err = parseTerm(rest); err != nil {
			return nil, fmt.Errorf("%q: %v", expr, err)
		}
		m = append(m, t)
		rest = strings.TrimSpace(rest)
		if rest == "" {
			return m, nil
		}
		if !strings.HasPrefix(rest, "+") {
			return nil, fmt.Errorf("%q: want + between terms, at %q", expr, rest)
		}
		rest = strings.TrimSpace(rest[1:])
	}
}

func parseTerm(s string) (term, string, error) {
	if s != "" && (s[0] == '\'' || s[0] == '"') {
		lit, rest, err := quoted(s)
		return term{literal: lit}, rest, err
	}
	rest, ok := strings.CutPrefix(s, "assertion")
	if !ok {
		return term{}, "", fmt.Errorf("a term is a quoted string or assertion..., at %q", s)
	}
	var path []string
	for {
		switch {
		case strings.HasPrefix(rest, "."):
			n := 1
			for n < len(rest) && (rest[n] == '_' || rest[n] >= 'a' && rest[n] <= 'z' || rest[n] >= 'A' && rest[n] <= 'Z' || rest[n] >= '0' && rest[n] <= '9') {
				n++
			}
			if n == 1 {
				return term{}, "", errors.New("a name must follow '.'")
			}
			path, rest = append(path, rest[1:n]), rest[n:]
		case strings.HasPrefix(rest, "["):
			key, after, err := quoted(strings.TrimSpace(rest[1:]))
			if err != nil {
				return term{}, "", err
			}
			after = strings.TrimSpace(after)
			if !strings.HasPrefix(after, "]") {
				return term{}, "", errors.New("want ] after a key")
			}
			path, rest = append(path, key), after[1:]
		default:
			if len(path) == 0 {
				return term{}, "", errors.New("assertion alone is not a string")
			}
			return term{path: path}, rest, nil
		}
	}
}

// quoted reads a string literal at the start of s (no escapes).
func quoted(s string) (lit, rest string, err error) {
	if s == "" || s[0] != '\'' && s[0] != '"' {
		return "", "", fmt.Errorf("want a quoted string at %q", s)
	}
	end := strings.IndexByte(s[1:], s[0])
	if end < 0 {
		return "", "", errors.New("unterminated string")
	}
	lit = s[1 : 1+end]
	if strings.Contains(lit, `\`) {
		return "", "", errors.New("the fake knows no escapes")
	}
	return lit, s[2+end:], nil
}

// eval is the mapping's value on claims (a JSON object); a claim that is
// missing or not a string is an error, as it is for Google.
func (m mapping) eval(claims map[string]any) (string, error) {
	var b strings.Builder
	for _, t := range m {
		if t.path == nil {
			b.WriteString(t.literal)
			continue
		}
		var v any = claims
		for _, k := range t.path {
			obj, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = obj[k]
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("assertion['%s'] is not a string in the token", strings.Join(t.path, "']['"))
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// condition is a parsed attribute condition: left == right, or !=.
type condition struct {
	left, right mapping
	equal       bool
}

func parseCondition(expr string) (*condition, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, nil
	}
	op, equal := "==", true
	i := strings.Index(expr, op)
	if i < 0 {
		op, equal = "!=", false
		i = strings.Index(expr, op)
	}
	if i < 0 {
		return nil, fmt.Errorf("condition %q: the fake knows A == B and A != B", expr)
	}
	l, err := parseMapping(expr[:i])
	if err != nil {
		return nil, err
	}
	r, err := parseMapping(expr[i+len(op):])
	if err != nil {
		return nil, err
	}
	return &condition{left: l, right: r, equal: equal}, nil
}

func (c *condition) holds(claims map[string]any) bool {
	if c == nil {
		return true
	}
	l, err1 := c.left.eval(claims)
	r, err2 := c.right.eval(claims)
	return err1 == nil && err2 == nil && (l == r) == c.equal
}

// attributes are a provider's mappings, google.subject first.
type attributes struct {
	names    []string
	mappings []mapping
}

// parseAttributes reads a provider's attribute mapping; none means
// google.subject=assertion.sub.
func parseAttributes(m map[string]string) (*attributes, error) {
	if len(m) == 0 {
		m = map[string]string{SubjectAttribute: "assertion.sub"}
	}
	if _, ok := m[SubjectAttribute]; !ok {
		return nil, errors.New("an attribute mapping must map google.subject")
	}
	a := &attributes{}
	add := func(name, expr string) error {
		p, err := parseMapping(expr)
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		a.names, a.mappings = append(a.names, name), append(a.mappings, p)
		return nil
	}
	if err := add(SubjectAttribute, m[SubjectAttribute]); err != nil {
		return nil, err
	}
	for name, expr := range m {
		if name == SubjectAttribute {
			continue
		}
		if !strings.HasPrefix(name, "attribute.") {
			return nil, fmt.Errorf("%s: custom attributes are attribute.NAME", name)
		}
		if err := add(name, expr); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// PoolPrincipalSet is the principal set of a pool's identities whose
// mapped attribute (namespace for attribute.namespace) has value:
// principalSet://iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/POOL/attribute.NAME/VALUE.
func PoolPrincipalSet(pool, attribute, value string) string {
	return "principalSet:" + PoolName(pool) + "/attribute." + attribute + "/" + value
}

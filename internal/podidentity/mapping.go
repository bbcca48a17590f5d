package podidentity

import (
	"fmt"
	"strings"

	"github.com/gcrcred/gcrcred/internal/cli"
)

// Google's STS maps each token to the principal
// principal://.../workloadIdentityPools/POOL/subject/SUBJECT, SUBJECT being
// the value of the provider's google.subject attribute mapping, and refuses
// a SUBJECT over 127 bytes ("The size of mapped attribute google.subject
// exceeds the 127 bytes limit"). gcrcred is told that mapping (the very
// CEL expression given to `gcloud ... providers create-oidc
// --attribute-mapping=google.subject=EXPR`, in GCRCRED_SUBJECT_MAPPING) so
// that it can refuse such a service account before the call, in a message
// that says what to change, and name the principal to grant roles to.

// Subject mapping settings.
const (
	// EnvSubjectMapping is the provider's google.subject mapping.
	EnvSubjectMapping = "GCRCRED_SUBJECT_MAPPING"
	// DefaultSubjectMapping maps the token's sub as it is:
	// system:serviceaccount:NAMESPACE:NAME.
	DefaultSubjectMapping = "assertion.sub"
	// MaxSubjectBytes is Google's limit on a mapped google.subject.
	MaxSubjectBytes = 127
	// ShortSubjectMapping is the shortest mapping that keeps service
	// accounts apart: NAMESPACE:NAME, 22 bytes shorter than sub.
	ShortSubjectMapping = "assertion['kubernetes.io']['namespace'] + ':' + assertion['kubernetes.io']['serviceaccount']['name']"
)

// SubjectMapping is a google.subject mapping gcrcred can compute: string
// literals and the claims it reads, joined with +.
type SubjectMapping struct {
	expr  string
	terms []subjectTerm
}

// subjectTerm is a literal, or a claim (one of claimNames).
type subjectTerm struct {
	literal string
	claim   string
}

// claimNames are the claims a mapping may use, by their paths.
var claimNames = map[string]string{
	"sub":                               "sub",
	"kubernetes.io/namespace":           "namespace",
	"kubernetes.io/serviceaccount/name": "name",
}

// ParseSubjectMapping reads a google.subject mapping; "" is the default.
func ParseSubjectMapping(expr string) (*SubjectMapping, error) {
	if strings.TrimSpace(expr) == "" {
		expr = DefaultSubjectMapping
	}
	bad := func(why string) error {
		return fmt.Errorf("google.subject mapping %q: %s; gcrcred understands quoted strings, assertion.sub, assertion['kubernetes.io']['namespace'] and assertion['kubernetes.io']['serviceaccount']['name'], joined with +", cli.Clip(expr, 200), why)
	}
	m := &SubjectMapping{expr: strings.TrimSpace(expr)}
	rest := m.expr
	for {
		rest = strings.TrimSpace(rest)
		var t subjectTerm
		switch {
		case rest == "":
			return nil, bad("a term is missing")
		case rest[0] == '\'' || rest[0] == '"':
			end := strings.IndexByte(rest[1:], rest[0])
			if end < 0 {
				return nil, bad("a string is not closed")
			}
			t.literal, rest = rest[1:1+end], rest[2+end:]
			if strings.ContainsAny(t.literal, `\`) {
				return nil, bad("a string holds a backslash")
			}
		case strings.HasPrefix(rest, "assertion"):
			path, after, err := claimPath(rest[len("assertion"):])
			if err != nil {
				return nil, bad(err.Error())
			}
			name, ok := claimNames[path]
			if !ok {
				return nil, bad("assertion." + path + " is not a claim gcrcred reads")
			}
			t.claim, rest = name, after
		default:
			return nil, bad(fmt.Sprintf("unexpected %q", cli.Clip(rest, 20)))
		}
		m.terms = append(m.terms, t)
		rest = strings.TrimSpace(rest)
		if rest == "" {
			return m, nil
		}
		if rest[0] != '+' {
			return nil, bad(fmt.Sprintf("want + at %q", cli.Clip(rest, 20)))
		}
		rest = rest[1:]
	}
}

// claimPath reads .name and ['key'] selectors, returning them joined with
// "/" and what follows them.
func claimPath(s string) (path, rest string, err error) {
	var parts []string
	for {
		switch {
		case strings.HasPrefix(s, "."):
			n := 1
			for n < len(s) && (s[n] == '_' || s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z' || s[n] >= '0' && s[n] <= '9') {
				n++
			}
			if n == 1 {
				return "", "", fmt.Errorf("a name must follow '.'")
			}
			parts, s = append(parts, s[1:n]), s[n:]
		case strings.HasPrefix(s, "["):
			in := strings.TrimSpace(s[1:])
			if in == "" || in[0] != '\'' && in[0] != '"' {
				return "", "", fmt.Errorf("want a quoted key after [")
			}
			end := strings.IndexByte(in[1:], in[0])
			if end < 0 {
				return "", "", fmt.Errorf("a key is not closed")
			}
			key, after := in[1:1+end], strings.TrimSpace(in[2+end:])
			if !strings.HasPrefix(after, "]") {
				return "", "", fmt.Errorf("want ] after a key")
			}
			parts, s = append(parts, key), after[1:]
		default:
			if len(parts) == 0 {
				return "", "", fmt.Errorf("assertion needs a claim")
			}
			return strings.Join(parts, "/"), s, nil
		}
	}
}

// String is the expression as given.
func (m *SubjectMapping) String() string { return m.expr }

// IsDefault reports whether m maps sub as it is.
func (m *SubjectMapping) IsDefault() bool {
	return len(m.terms) == 1 && m.terms[0].claim == "sub"
}

// Subject is the google.subject Google maps c to.
func (m *SubjectMapping) Subject(c *Claims) string {
	var b strings.Builder
	for _, t := range m.terms {
		switch t.claim {
		case "":
			b.WriteString(t.literal)
		case "sub":
			b.WriteString(c.Subject())
		case "namespace":
			b.WriteString(c.Namespace)
		case "name":
			b.WriteString(c.Name)
		}
	}
	return b.String()
}

// checkSubject refuses, in one line, a service account whose subject Google
// would refuse, saying how to shorten it.
func (m *SubjectMapping) checkSubject(c *Claims) error {
	s := m.Subject(c)
	if len(s) <= MaxSubjectBytes {
		return nil
	}
	fix := "use a shorter mapping on the pool provider and in --subject-mapping, such as " + ShortSubjectMapping
	if !m.IsDefault() {
		fix += " (with your prefix)"
	}
	return fmt.Errorf("service account %s: its google.subject under the mapping %s is %d bytes, and Google's STS refuses more than %d: %s, or a shorter namespace or name",
		c, m.expr, len(s), MaxSubjectBytes, fix)
}

package kubeletunit

import (
	"fmt"
	"strings"
)

// The kubeadm drop-in (also on kind nodes) expands $KUBELET_EXTRA_ARGS,
// which it reads from /etc/default/kubelet or /etc/sysconfig/kubelet: the
// flags go into that assignment, in whatever quoting it already has.

// ParseEnvFile reads KEY=VALUE lines as systemd's EnvironmentFile= does:
// blank lines and comments skipped, one level of quotes removed, the last
// assignment of a key winning.
func ParseEnvFile(content string) map[string]string {
	vars := map[string]string{}
	for _, l := range strings.Split(content, "\n") {
		t := strings.TrimSpace(l)
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			continue
		}
		vars[strings.TrimSpace(k)] = unquote(strings.TrimSpace(v))
	}
	return vars
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		inner := v[1 : len(v)-1]
		if v[0] == '"' {
			inner = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(inner)
		}
		return inner
	}
	return v
}

// envAssignment is the last line of content that assigns name.
type envAssignment struct {
	line   int
	prefix string // up to and including "="
	value  string // as written, quotes included, trailing blanks cut
	suffix string // the trailing blanks
}

func findAssignment(lines []string, name string) (envAssignment, bool) {
	var a envAssignment
	found := false
	for i, l := range lines {
		k, v, ok := strings.Cut(l, "=")
		if !ok || strings.TrimSpace(k) != name || strings.HasPrefix(strings.TrimSpace(k), "#") {
			continue
		}
		trimmed := strings.TrimRight(v, " \t\r")
		a = envAssignment{line: i, prefix: k + "=", value: trimmed, suffix: v[len(trimmed):]}
		found = true
	}
	return a, found
}

// AddEnvFlags adds the missing flags to the last assignment of name,
// inside its quotes if it has any; without an assignment it appends one.
func AddEnvFlags(content, name string, flags []Flag) (string, bool, error) {
	lines := strings.Split(content, "\n")
	a, ok := findAssignment(lines, name)
	if !ok {
		add := strings.TrimPrefix(missingFlags(nil, flags), " ")
		if content != "" && !strings.HasSuffix(content, "\n") {
			content += "\n"
		}
		return content + name + "=" + add + "\n", true, nil
	}
	if strings.HasSuffix(a.value, `\`) {
		return "", false, fmt.Errorf("%s continues on the next line: put it on one line and rerun", name)
	}
	v := strings.TrimLeft(a.value, " \t")
	lead := a.value[:len(a.value)-len(v)]
	quote := ""
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		quote, v = v[:1], v[1:len(v)-1]
	}
	args := SplitCommand(v)
	if bad := conflicts(args, flags); len(bad) > 0 {
		return "", false, fmt.Errorf("%s already sets %s: gcrcred will not replace another credential provider", name, strings.Join(bad, " "))
	}
	add := missingFlags(args, flags)
	if add == "" {
		return content, false, nil
	}
	if strings.TrimSpace(v) == "" {
		add = strings.TrimPrefix(add, " ")
	}
	lines[a.line] = a.prefix + lead + quote + v + add + quote + a.suffix
	return strings.Join(lines, "\n"), true, nil
}

// RemoveEnvFlags takes the flags, with their values, out of the last
// assignment of name.
func RemoveEnvFlags(content, name string, flags []Flag) (string, bool) {
	lines := strings.Split(content, "\n")
	a, ok := findAssignment(lines, name)
	if !ok {
		return content, false
	}
	v, changed := removeFlagWords(a.value, flags)
	if !changed {
		return content, false
	}
	lines[a.line] = a.prefix + v + a.suffix
	return strings.Join(lines, "\n"), true
}

// FlagsFile is where gcrcred's kubelet flags live on a node: a unit file's
// ExecStart line (Var "": minikube's drop-in), or a variable of an
// environment file (kubeadm's KUBELET_EXTRA_ARGS).
type FlagsFile struct {
	Path string
	Var  string
}

// IsUnit reports whether editing the file changes a unit (systemd must
// reload it).
func (f FlagsFile) IsUnit() bool { return f.Var == "" }

// Add adds the flags to the file's content.
func (f FlagsFile) Add(content string, flags []Flag) (string, bool, error) {
	if f.Var == "" {
		return AddExecStartFlags(content, flags)
	}
	return AddEnvFlags(content, f.Var, flags)
}

// Remove takes the flags out of the file's content.
func (f FlagsFile) Remove(content string, flags []Flag) (string, bool) {
	if f.Var == "" {
		return RemoveExecStartFlags(content, flags)
	}
	return RemoveEnvFlags(content, f.Var, flags)
}

// Args are the words the file gives the kubelet where gcrcred's flags go.
func (f FlagsFile) Args(content string) []string {
	if f.Var == "" {
		return ExecArgs(content)
	}
	return SplitCommand(ParseEnvFile(content)[f.Var])
}

package node

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/gcrcred/gcrcred/internal/nodeexec"
)

// Unit files are read by hand: github.com/coreos/go-systemd's unit parser
// neither merges drop-ins nor keeps the physical lines that an edit must
// give back byte for byte.

// unitDirs are where systemd looks for units, most important first.
var unitDirs = []string{
	"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
	"/usr/lib/systemd/system", "/lib/systemd/system",
}

// unit is a service as systemd loads it: the unit file, then its drop-ins
// in name order (a drop-in in a more important directory hides one of the
// same name in a less important one).
type unit struct {
	name      string
	files     []unitFile
	execStart execStart    // the effective ExecStart=, if ok
	ok        bool         // there is one
	envFiles  []envFileRef // EnvironmentFile= lines, in order
	env       []string     // Environment= assignments, in order (KEY=VALUE)
}

type unitFile struct{ path, content string }

// execStart is where the effective ExecStart= is: file index, physical
// lines (continuations end in "\"), and the command line joined.
type execStart struct {
	file        int
	first, last int
	value       string
}

type envFileRef struct {
	path     string
	optional bool // "-": a missing file is no error
}

// loadUnit reads a service's files under root; ok is false without a unit file.
func loadUnit(r nodeexec.Root, name string) (*unit, bool) {
	u := &unit{name: name}
	for _, d := range unitDirs {
		if c, err := readNodeFile(r, path.Join(d, name+".service")); err == nil {
			u.files = append(u.files, unitFile{path.Join(d, name+".service"), c})
			break
		}
	}
	if len(u.files) == 0 {
		return nil, false
	}
	seen := map[string]bool{}
	var dropIns []string
	byName := map[string]string{}
	for _, d := range unitDirs {
		dir := path.Join(d, name+".service.d")
		p, err := r.Resolve(dir)
		if err != nil {
			continue
		}
		entries, _ := os.ReadDir(p)
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".conf") || seen[e.Name()] {
				continue
			}
			seen[e.Name()] = true
			dropIns = append(dropIns, e.Name())
			byName[e.Name()] = path.Join(dir, e.Name())
		}
	}
	sort.Strings(dropIns)
	for _, n := range dropIns {
		if c, err := readNodeFile(r, byName[n]); err == nil {
			u.files = append(u.files, unitFile{byName[n], c})
		}
	}
	for i, f := range u.files {
		u.parse(i, f.content)
	}
	return u, true
}

// parse applies one file's [Service] section: ExecStart= resets or
// replaces, Environment= and EnvironmentFile= accumulate ("" resets).
func (u *unit) parse(file int, content string) {
	inService := false
	forEachLogicalLine(content, func(first, last int, line string) {
		t := strings.TrimSpace(line)
		switch {
		case t == "" || t[0] == '#' || t[0] == ';':
		case strings.HasPrefix(t, "["):
			inService = t == "[Service]"
		case inService:
			k, v, ok := strings.Cut(t, "=")
			if !ok {
				return
			}
			v = strings.TrimSpace(v)
			switch strings.TrimSpace(k) {
			case "ExecStart":
				if v == "" {
					u.execStart, u.ok = execStart{}, false
				} else {
					u.execStart, u.ok = execStart{file: file, first: first, last: last, value: v}, true
				}
			case "Environment":
				if v == "" {
					u.env = nil
				}
				u.env = append(u.env, splitCommand(v)...)
			case "EnvironmentFile":
				if v == "" {
					u.envFiles = nil
					return
				}
				ref := envFileRef{path: v}
				if strings.HasPrefix(v, "-") {
					ref = envFileRef{path: v[1:], optional: true}
				}
				u.envFiles = append(u.envFiles, ref)
			}
		}
	})
}

// forEachLogicalLine calls f for each line of a unit file, with lines
// continued by a trailing backslash joined.
func forEachLogicalLine(content string, f func(first, last int, line string)) {
	ls := strings.Split(content, "\n")
	for i := 0; i < len(ls); i++ {
		first := i
		logical := ls[i]
		for strings.HasSuffix(strings.TrimRight(logical, " \t\r"), `\`) && i+1 < len(ls) {
			logical = strings.TrimSuffix(strings.TrimRight(logical, " \t\r"), `\`) + " " + ls[i+1]
			i++
		}
		f(first, i, logical)
	}
}

// effectiveExecStart is the ExecStart= of one unit file alone.
func effectiveExecStart(content string) (execStart, bool) {
	u := &unit{}
	u.parse(0, content)
	return u.execStart, u.ok
}

// readsEnvFile reports whether the unit reads the given environment file.
func (u *unit) readsEnvFile(p string) bool {
	for _, f := range u.envFiles {
		if f.path == p {
			return true
		}
	}
	return false
}

// usesVar reports whether ExecStart expands $NAME or ${NAME}.
func (u *unit) usesVar(name string) bool {
	v := u.execStart.value
	for _, form := range []string{"${" + name + "}", "$" + name} {
		for i := strings.Index(v, form); i >= 0; i = nextIndex(v, form, i) {
			end := i + len(form)
			if form[1] == '{' || end == len(v) || !isVarChar(v[end]) {
				return true
			}
		}
	}
	return false
}

func nextIndex(s, sub string, after int) int {
	j := strings.Index(s[after+1:], sub)
	if j < 0 {
		return -1
	}
	return after + 1 + j
}

func isVarChar(c byte) bool {
	return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// args is the kubelet's command line as systemd would run it: ExecStart
// with $VAR and ${VAR} expanded from Environment= and the environment files
// (a later assignment wins); missing optional files count as empty.
func (u *unit) args(r nodeexec.Root) []string {
	vars := map[string]string{}
	for _, kv := range u.env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	for _, f := range u.envFiles {
		c, err := readNodeFile(r, f.path)
		if err != nil {
			continue
		}
		for k, v := range parseEnvFile(c) {
			vars[k] = v
		}
	}
	var out []string
	for _, w := range splitCommand(strings.TrimLeft(u.execStart.value, "-@+!:")) {
		if name, ok := wholeVar(w); ok {
			out = append(out, strings.Fields(vars[name])...)
			continue
		}
		out = append(out, os.Expand(w, func(k string) string { return vars[k] }))
	}
	return out
}

// wholeVar reports whether w is exactly $NAME or ${NAME}, which systemd
// splits into words.
func wholeVar(w string) (string, bool) {
	if n, ok := strings.CutPrefix(w, "${"); ok && strings.HasSuffix(n, "}") {
		return strings.TrimSuffix(n, "}"), true
	}
	if n, ok := strings.CutPrefix(w, "$"); ok && n != "" && strings.IndexFunc(n, func(r rune) bool { return !isVarChar(byte(r)) || r > 127 }) < 0 {
		return n, true
	}
	return "", false
}

// readNodeFile reads a node file (symbolic links resolved inside the root).
func readNodeFile(r nodeexec.Root, p string) (string, error) {
	hp, err := r.Resolve(p)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(hp)
	return string(b), err
}

// nodeExists reports whether p exists on the node (without following a final link).
func nodeExists(r nodeexec.Root, p string) bool {
	hp, err := r.Path(p)
	if err != nil {
		return false
	}
	_, err = os.Lstat(hp)
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}

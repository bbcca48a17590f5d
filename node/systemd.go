package node

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/gcrcred/gcrcred/internal/noderoot"
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
	slice     string       // Slice=, "" for systemd's default (system.slice)
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

// loadUnit reads a service's files under root; found is false without a
// unit file. Every file it uses must be root's and writable by no one
// else (systemd would run what it says as root); one that is not is an
// error naming it. A directory of the search path that is a link (/lib on
// a merged-/usr system, whose files are found at /usr/lib) is skipped,
// never followed.
func loadUnit(r *noderoot.Root, name string) (u *unit, found bool, err error) {
	u = &unit{name: name}
	for _, d := range unitDirs {
		p := path.Join(d, name+".service")
		c, err := readTrusted(r, p)
		if skippable(err) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		u.files = append(u.files, unitFile{p, c})
		break
	}
	if len(u.files) == 0 {
		return nil, false, nil
	}
	seen := map[string]bool{}
	var dropIns []string
	byName := map[string]string{}
	for _, d := range unitDirs {
		dir := path.Join(d, name+".service.d")
		entries, err := dirEntries(r, dir)
		if skippable(err) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		for _, e := range entries {
			if !strings.HasSuffix(e, ".conf") || seen[e] {
				continue
			}
			seen[e] = true
			dropIns = append(dropIns, e)
			byName[e] = path.Join(dir, e)
		}
	}
	sort.Strings(dropIns)
	for _, n := range dropIns {
		c, err := readTrusted(r, byName[n])
		if err != nil {
			return nil, false, err
		}
		u.files = append(u.files, unitFile{byName[n], c})
	}
	for i, f := range u.files {
		u.parse(i, f.content)
	}
	return u, true, nil
}

// skippable is a unit file or directory that is not there, or sits below
// a link in the search path (merged /usr: /lib -> usr/lib).
func skippable(err error) bool {
	var le *noderoot.LinkError
	return errors.Is(err, fs.ErrNotExist) || errors.As(err, &le) && path.Dir(le.Path) == "/"
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
			case "Slice":
				u.slice = v
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
func (u *unit) args(r *noderoot.Root) ([]string, error) {
	vars := map[string]string{}
	for _, kv := range u.env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	for _, f := range u.envFiles {
		c, err := readTrusted(r, u.specifiers(f.path))
		if errors.Is(err, fs.ErrNotExist) {
			continue // optional, or systemd would not start it at all
		}
		if err != nil {
			return nil, err
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
	return out, nil
}

// specifiers expands the unit specifiers gcrcred meets in paths (k3s's
// EnvironmentFile=-/etc/default/%N): %N, %n and %%.
func (u *unit) specifiers(p string) string {
	return strings.NewReplacer("%N", u.name, "%n", u.name+".service", "%%", "%").Replace(p)
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

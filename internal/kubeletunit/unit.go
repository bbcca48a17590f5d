// Package kubeletunit reads a kubelet's systemd unit as systemd would (its unit
// file and drop-ins from the search path, ExecStart=, Environment=,
// EnvironmentFile=, $VAR expansion) from files only root can change, and
// edits the kubelet flags where they live (an ExecStart line, a variable of
// an environment file) so that taking out what was added gives back the
// same bytes.
//
// Unit files are read by hand: github.com/coreos/go-systemd's unit parser
// neither merges drop-ins nor keeps the physical lines that an edit must
// give back byte for byte; dotenv libraries rewrite the whole file and its
// quoting.
package kubeletunit

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/gcrcred/gcrcred/internal/noderoot"
)

// Dirs are where systemd looks for units, most important first.
var Dirs = []string{
	"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
	"/usr/lib/systemd/system", "/lib/systemd/system",
}

// Unit is a service as systemd loads it: the unit file, then its drop-ins
// in name order (a drop-in in a more important directory hides one of the
// same name in a less important one).
type Unit struct {
	Name      string
	Files     []File
	ExecStart Exec      // the effective ExecStart=, if HasExec
	HasExec   bool      // there is one
	EnvFiles  []EnvFile // EnvironmentFile= lines, in order
	Env       []string  // Environment= assignments, in order (KEY=VALUE)
	Slice     string    // Slice=, "" for systemd's default (system.slice)
}

// File is one file of a unit.
type File struct{ Path, Content string }

// Exec is where the effective ExecStart= is: file index, physical lines
// (continuations end in "\"), and the command line joined.
type Exec struct {
	File        int
	First, Last int
	Value       string
}

// EnvFile is one EnvironmentFile= line.
type EnvFile struct {
	Path     string
	Optional bool // "-": a missing file is no error
}

// ExecFile is the path of the file that holds the effective ExecStart=.
func (u *Unit) ExecFile() string { return u.Files[u.ExecStart.File].Path }

// Load reads a service's files under root; found is false without a unit
// file. Every file it uses must be root's and writable by no one else
// (systemd would run what it says as root); one that is not is an error
// naming it. A directory of the search path that is a link (/lib on a
// merged-/usr system, whose files are found at /usr/lib) is skipped, never
// followed.
func Load(r *noderoot.Root, name string) (u *Unit, found bool, err error) {
	u = &Unit{Name: name}
	for _, d := range Dirs {
		p := path.Join(d, name+".service")
		c, err := r.ReadTrusted(p)
		if skippable(err) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		u.Files = append(u.Files, File{p, c})
		break
	}
	if len(u.Files) == 0 {
		return nil, false, nil
	}
	dropIns, err := dropIns(r, name)
	if err != nil {
		return nil, false, err
	}
	for _, p := range dropIns {
		c, err := r.ReadTrusted(p)
		if err != nil {
			return nil, false, err
		}
		u.Files = append(u.Files, File{p, c})
	}
	for i, f := range u.Files {
		u.parse(i, f.Content)
	}
	return u, true, nil
}

// dropIns are the unit's drop-ins in name order, each name from the most
// important directory that has it.
func dropIns(r *noderoot.Root, name string) ([]string, error) {
	byName := map[string]string{}
	var names []string
	for _, d := range Dirs {
		dir := path.Join(d, name+".service.d")
		entries, err := r.Entries(dir)
		if skippable(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if strings.HasSuffix(e, ".conf") && byName[e] == "" {
				byName[e] = path.Join(dir, e)
				names = append(names, e)
			}
		}
	}
	sort.Strings(names)
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = byName[n]
	}
	return paths, nil
}

// skippable is a unit file or directory that is not there, or sits below
// a link in the search path (merged /usr: /lib -> usr/lib).
func skippable(err error) bool {
	var le *noderoot.LinkError
	return errors.Is(err, fs.ErrNotExist) || errors.As(err, &le) && path.Dir(le.Path) == "/"
}

// parse applies one file's [Service] section: ExecStart= resets or
// replaces, Environment= and EnvironmentFile= accumulate ("" resets).
func (u *Unit) parse(file int, content string) {
	inService := false
	forEachLogicalLine(content, func(first, last int, line string) {
		t := strings.TrimSpace(line)
		switch {
		case t == "" || t[0] == '#' || t[0] == ';':
		case strings.HasPrefix(t, "["):
			inService = t == "[Service]"
		case inService:
			if k, v, ok := strings.Cut(t, "="); ok {
				u.set(strings.TrimSpace(k), strings.TrimSpace(v), Exec{File: file, First: first, Last: last, Value: strings.TrimSpace(v)})
			}
		}
	})
}

// set applies one assignment of the [Service] section.
func (u *Unit) set(key, v string, at Exec) {
	switch key {
	case "ExecStart":
		u.ExecStart, u.HasExec = at, v != ""
		if v == "" {
			u.ExecStart = Exec{}
		}
	case "Slice":
		u.Slice = v
	case "Environment":
		if v == "" {
			u.Env = nil
		}
		u.Env = append(u.Env, SplitCommand(v)...)
	case "EnvironmentFile":
		switch {
		case v == "":
			u.EnvFiles = nil
		case strings.HasPrefix(v, "-"):
			u.EnvFiles = append(u.EnvFiles, EnvFile{Path: v[1:], Optional: true})
		default:
			u.EnvFiles = append(u.EnvFiles, EnvFile{Path: v})
		}
	}
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

// EffectiveExecStart is the ExecStart= of one unit file alone.
func EffectiveExecStart(content string) (Exec, bool) {
	u := &Unit{}
	u.parse(0, content)
	return u.ExecStart, u.HasExec
}

// ExecArgs are the words of the ExecStart= of one unit file alone, as they
// stand (no variable expanded).
func ExecArgs(content string) []string {
	es, ok := EffectiveExecStart(content)
	if !ok {
		return nil
	}
	return SplitCommand(es.Value)
}

// UsesVar reports whether ExecStart expands $NAME or ${NAME}.
func (u *Unit) UsesVar(name string) bool {
	v := u.ExecStart.Value
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

// Args is the kubelet's command line as systemd would run it: ExecStart
// with $VAR and ${VAR} expanded from Environment= and the environment files
// (a later assignment wins); missing optional files count as empty.
func (u *Unit) Args(r *noderoot.Root) ([]string, error) {
	vars := map[string]string{}
	for _, kv := range u.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	for _, f := range u.EnvFiles {
		c, err := r.ReadTrusted(u.specifiers(f.Path))
		if errors.Is(err, fs.ErrNotExist) {
			continue // optional, or systemd would not start it at all
		}
		if err != nil {
			return nil, err
		}
		for k, v := range ParseEnvFile(c) {
			vars[k] = v
		}
	}
	var out []string
	for _, w := range SplitCommand(strings.TrimLeft(u.ExecStart.Value, "-@+!:")) {
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
func (u *Unit) specifiers(p string) string {
	return strings.NewReplacer("%N", u.Name, "%n", u.Name+".service", "%%", "%").Replace(p)
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

// Package unitfile loads a systemd service as systemd does, for the fakes
// only: the fake systemctl inside a node (root "/") and the tests looking
// at a node root from outside (root its directory) read units through this
// one loader: the search path, drop-ins (*.conf of every directory, by
// name, a nearer directory's hiding a farther one's), ExecStart= resets,
// Environment= and EnvironmentFile=, line continuations, and $VAR
// expansion. The product's own parser (node/systemd.go) is kept apart, so
// the tests check it against an independent reading.
package unitfile

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// SearchPath is systemd's unit search path, most important first.
var SearchPath = []string{"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"}

// Unit is a service as systemd holds it in memory after a load.
type Unit struct {
	Name     string
	Pre      []string // ExecStartPre= command lines
	Start    string   // the effective ExecStart=
	Env      []string // Environment= assignments
	EnvFiles []string // EnvironmentFile= paths ("-" prefix: optional)
	Notify   bool     // Type=notify: a start that fails fails the start job
	Slice    string   // Slice=
	Digest   string   // of the files it was loaded from
}

// in is p (a node path) under root.
func in(root, p string) string { return filepath.Join(root, p) }

// Names are the services root has unit files for, sorted.
func Names(root string) []string {
	seen := map[string]bool{}
	var units []string
	for _, d := range SearchPath {
		m, _ := filepath.Glob(filepath.Join(in(root, d), "*.service"))
		for _, f := range m {
			u := strings.TrimSuffix(filepath.Base(f), ".service")
			if !seen[u] {
				seen[u] = true
				units = append(units, u)
			}
		}
	}
	sort.Strings(units)
	return units
}

// Exists reports whether root has a unit file for the service.
func Exists(root, name string) bool {
	for _, d := range SearchPath {
		if _, err := os.Stat(in(root, path.Join(d, name+".service"))); err == nil {
			return true
		}
	}
	return false
}

// Load merges the service's unit file and its drop-ins.
func Load(root, name string) (*Unit, error) {
	var files []string
	for _, d := range SearchPath {
		if f := path.Join(d, name+".service"); exists(in(root, f)) {
			files = append(files, f)
			break
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("unit %s.service not found", name)
	}
	byName := map[string]string{}
	var names []string
	for _, d := range SearchPath {
		m, _ := filepath.Glob(filepath.Join(in(root, d), name+".service.d", "*.conf"))
		for _, f := range m {
			if _, seen := byName[filepath.Base(f)]; !seen {
				byName[filepath.Base(f)] = path.Join(d, name+".service.d", filepath.Base(f))
				names = append(names, filepath.Base(f))
			}
		}
	}
	sort.Strings(names)
	for _, n := range names {
		files = append(files, byName[n])
	}
	u := &Unit{Name: name}
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(in(root, f))
		if err != nil {
			return nil, fmt.Errorf("loading %s: %v", f, err)
		}
		fmt.Fprintf(h, "%s\x00%s\x00", f, b)
		u.parse(string(b))
	}
	if u.Start == "" {
		return nil, fmt.Errorf("%s.service has no ExecStart=", name)
	}
	u.Digest = hex.EncodeToString(h.Sum(nil))
	return u, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// parse applies one file's [Service] settings.
func (u *Unit) parse(content string) {
	section := ""
	for _, line := range logicalLines(content) {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "[") {
			section = t
			continue
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok || section != "[Service]" {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "ExecStart":
			u.Start = v
		case "ExecStartPre":
			if v == "" {
				u.Pre = nil
			} else {
				u.Pre = append(u.Pre, v)
			}
		case "Environment":
			u.Env = append(u.Env, Words(v)...)
		case "EnvironmentFile":
			u.EnvFiles = append(u.EnvFiles, v)
		case "Type":
			u.Notify = v == "notify"
		case "Slice":
			u.Slice = v
		}
	}
}

// logicalLines joins lines continued with a trailing backslash; comments go.
func logicalLines(s string) []string {
	var out []string
	cur := ""
	for _, l := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(l); cur == "" && (strings.HasPrefix(t, "#") || strings.HasPrefix(t, ";")) {
			continue
		}
		if strings.HasSuffix(strings.TrimRight(l, " \t"), `\`) {
			cur += strings.TrimSuffix(strings.TrimRight(l, " \t"), `\`) + " "
			continue
		}
		out = append(out, cur+l)
		cur = ""
	}
	return out
}

// Argv is ExecStart= as systemd runs it: $VAR and ${VAR} replaced by the
// unit's Environment= and the EnvironmentFile= files as they are now
// under root (a missing optional file is skipped).
func (u *Unit) Argv(root string) []string {
	vars := map[string]string{}
	for _, kv := range u.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	for _, f := range u.EnvFiles {
		b, err := os.ReadFile(in(root, strings.TrimPrefix(f, "-")))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			l = strings.TrimSpace(l)
			if l == "" || l[0] == '#' {
				continue
			}
			if k, v, ok := strings.Cut(l, "="); ok {
				v = strings.TrimSpace(v)
				if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
					v = v[1 : len(v)-1]
				}
				vars[strings.TrimSpace(k)] = v
			}
		}
	}
	var out []string
	for _, w := range Words(u.Start) {
		if strings.HasPrefix(w, "$") {
			out = append(out, strings.Fields(vars[strings.Trim(w, "${}")])...)
			continue
		}
		out = append(out, w)
	}
	return out
}

// Words splits a command line or assignment list honouring quotes.
func Words(s string) []string {
	var out []string
	var w strings.Builder
	in, quote := false, rune(0)
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				w.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				out = append(out, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, w.String())
	}
	return out
}

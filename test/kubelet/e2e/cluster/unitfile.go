package cluster

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// systemUnitDirs is systemd's search path for system units, highest priority first.
var systemUnitDirs = []string{"/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"}

// unitDef is what the supervisor understands of a unit file and its drop-ins:
// the [Service] settings a kubelet or containerd unit uses. Others are listed
// in ignored (they are logged, not applied: e.g. OOMScoreAdjust and LimitNOFILE
// need CAP_SYS_RESOURCE, which these machines lack; ExecStartPre of
// containerd's unit would load a kernel module).
type unitDef struct {
	name        string // "kubelet.service"
	path        string // the unit file
	dropIns     []string
	description string
	execStart   string
	environment []string // KEY=VALUE, in order
	envFiles    []string // "-/path": a missing file is no error
	restart     string   // no, always, on-failure
	restartSec  time.Duration
	killMode    string // control-group, process, mixed
	stopTimeout time.Duration
	ignored     []string
	stamp       string // hash of every file read, to notice changes on disk
}

// unitName adds ".service" to a bare name, as systemctl does.
func unitName(s string) string {
	if strings.Contains(s, ".") {
		return s
	}
	return s + ".service"
}

var errUnitNotFound = errors.New("not found")

// loadUnit reads NAME from the first directory of unitDirs that has it, then
// the drop-ins NAME.d/*.conf of every directory (for the same file name, the
// higher-priority directory wins; they apply in file-name order), as systemd
// does at daemon-reload.
func loadUnit(unitDirs []string, name string) (*unitDef, error) {
	u := &unitDef{name: name, restart: "no", restartSec: 100 * time.Millisecond, killMode: "control-group", stopTimeout: 90 * time.Second}
	h := sha256.New()
	for _, dir := range unitDirs {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		u.path = p
		fmt.Fprintf(h, "%s\x00%s\x00", p, b)
		if err := u.parse(p, b); err != nil {
			return nil, err
		}
		break
	}
	if u.path == "" {
		return nil, fmt.Errorf("unit %s: %w", name, errUnitNotFound)
	}
	dropIns := map[string]string{} // base name -> path
	for i := len(unitDirs) - 1; i >= 0; i-- {
		matches, _ := filepath.Glob(filepath.Join(unitDirs[i], name+".d", "*.conf"))
		for _, m := range matches {
			dropIns[filepath.Base(m)] = m
		}
	}
	bases := make([]string, 0, len(dropIns))
	for b := range dropIns {
		bases = append(bases, b)
	}
	sort.Strings(bases)
	for _, base := range bases {
		p := dropIns[base]
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(h, "%s\x00%s\x00", p, b)
		u.dropIns = append(u.dropIns, p)
		if err := u.parse(p, b); err != nil {
			return nil, err
		}
	}
	u.stamp = hex.EncodeToString(h.Sum(nil))
	if u.execStart == "" {
		return nil, fmt.Errorf("%s: no ExecStart=", name)
	}
	return u, nil
}

// diskStamp is the stamp loadUnit would compute now ("" if the unit is gone).
func diskStamp(unitDirs []string, name string) string {
	u, err := loadUnit(unitDirs, name)
	if err != nil {
		return ""
	}
	return u.stamp
}

// parse applies one unit file or drop-in.
func (u *unitDef) parse(path string, data []byte) error {
	section := ""
	for _, line := range logicalLines(data) {
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = line
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return fmt.Errorf("%s: not KEY=VALUE: %q", path, line)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch section + key {
		case "[Unit]Description":
			u.description = value
		case "[Service]ExecStart":
			u.execStart = value // empty resets; a service runs the last one
		case "[Service]Environment":
			if value == "" {
				u.environment = nil
				continue
			}
			words, err := splitWords(value)
			if err != nil {
				return fmt.Errorf("%s: Environment=%s: %w", path, value, err)
			}
			for _, w := range words {
				if !strings.Contains(w.text, "=") {
					return fmt.Errorf("%s: Environment=: %q is not KEY=VALUE", path, w.text)
				}
				u.environment = append(u.environment, w.text)
			}
		case "[Service]EnvironmentFile":
			if value == "" {
				u.envFiles = nil
			} else {
				u.envFiles = append(u.envFiles, value)
			}
		case "[Service]Restart":
			u.restart = value
		case "[Service]RestartSec":
			d, err := parseSeconds(value)
			if err != nil {
				return fmt.Errorf("%s: RestartSec=%s: %w", path, value, err)
			}
			u.restartSec = d
		case "[Service]KillMode":
			u.killMode = value
		case "[Service]TimeoutStopSec", "[Service]TimeoutSec":
			d, err := parseSeconds(value)
			if err != nil {
				return fmt.Errorf("%s: %s=%s: %w", path, key, value, err)
			}
			u.stopTimeout = d
		default:
			if section == "[Service]" || key == "Description" {
				u.ignored = append(u.ignored, key+"="+value)
			}
		}
	}
	return nil
}

// logicalLines splits a unit file into lines, joining backslash
// continuations and dropping comments and blank lines.
func logicalLines(data []byte) []string {
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || line[0] == '#' || line[0] == ';') {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\"))
			cur.WriteString(" ")
			continue
		}
		cur.WriteString(line)
		out = append(out, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// parseSeconds reads a systemd time span: "10" (seconds), "10s", "500ms", "1min", "infinity".
func parseSeconds(s string) (time.Duration, error) {
	if s == "infinity" {
		return 24 * time.Hour, nil
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(n * float64(time.Second)), nil
	}
	r := strings.NewReplacer("min", "m", "sec", "s", " ", "")
	return time.ParseDuration(r.Replace(s))
}

// word is one word of a systemd command line or assignment list.
type word struct {
	text   string
	quoted bool // some part of it was in quotes
}

// splitWords splits s at unquoted whitespace; "..." and '...' group, and
// backslash escapes the next character (outside single quotes).
func splitWords(s string) ([]word, error) {
	var words []word
	var cur strings.Builder
	in, quoted, have := byte(0), false, false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case in == 0 && (ch == ' ' || ch == '\t'):
			if have {
				words = append(words, word{cur.String(), quoted})
				cur.Reset()
				quoted, have = false, false
			}
		case in == 0 && (ch == '"' || ch == '\''):
			in, quoted, have = ch, true, true
		case in != 0 && ch == in:
			in = 0
		case ch == '\\' && in != '\'' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			have = true
		default:
			cur.WriteByte(ch)
			have = true
		}
	}
	if in != 0 {
		return nil, fmt.Errorf("unbalanced quotes in %q", s)
	}
	if have {
		words = append(words, word{cur.String(), quoted})
	}
	return words, nil
}

var (
	wholeVar  = regexp.MustCompile(`^\$([A-Za-z_][A-Za-z0-9_]*)$`)
	bracedVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
)

// expandExec turns an ExecStart= line into argv the way systemd does: an
// unquoted word that is exactly $NAME becomes the value split at whitespace
// (zero or more arguments: how kubeadm's drop-in passes $KUBELET_EXTRA_ARGS),
// ${NAME} inside a word is replaced as is. Prefixes such as "-" are dropped.
func expandExec(line string, env map[string]string) ([]string, error) {
	line = strings.TrimLeft(line, "-@:+!")
	words, err := splitWords(line)
	if err != nil {
		return nil, err
	}
	var argv []string
	for _, w := range words {
		if m := wholeVar.FindStringSubmatch(w.text); m != nil && !w.quoted {
			argv = append(argv, strings.Fields(env[m[1]])...)
			continue
		}
		argv = append(argv, bracedVar.ReplaceAllStringFunc(w.text, func(v string) string {
			return env[v[2:len(v)-1]]
		}))
	}
	if len(argv) == 0 {
		return nil, errors.New("empty ExecStart=")
	}
	return argv, nil
}

// parseEnvFile reads an EnvironmentFile=: KEY=VALUE lines, # and ; comments,
// values optionally in double quotes (with backslash escapes) or single
// quotes, backslash-newline continuations. Later assignments win.
func parseEnvFile(data []byte) ([]string, error) {
	var out []string
	for _, line := range logicalLines(data) {
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			continue // systemd ignores such lines (with a warning)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			words, err := splitWords(value)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			texts := make([]string, len(words))
			for i, w := range words {
				texts[i] = w.text
			}
			value = strings.Join(texts, " ")
		}
		out = append(out, key+"="+value)
	}
	return out, nil
}

// command builds the unit's argv and environment now: the environment files
// are read at each start, as systemd does, so a changed /etc/default/kubelet
// takes effect at the next restart without a daemon-reload.
func (u *unitDef) command() (argv, env []string, err error) {
	vars := map[string]string{}
	env = nodeEnv()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	set := func(kv string) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
		env = append(env, kv)
	}
	for _, kv := range u.environment {
		set(kv)
	}
	for _, f := range u.envFiles {
		path, optional := strings.CutPrefix(f, "-")
		b, err := os.ReadFile(path)
		if err != nil {
			if optional && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, nil, fmt.Errorf("failed to load environment file %s: %w", path, err)
		}
		kvs, err := parseEnvFile(b)
		if err != nil {
			return nil, nil, fmt.Errorf("environment file %s: %w", path, err)
		}
		for _, kv := range kvs {
			set(kv)
		}
	}
	argv, err = expandExec(u.execStart, vars)
	return argv, env, err
}

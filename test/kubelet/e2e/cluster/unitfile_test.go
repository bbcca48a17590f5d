package cluster

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExpandExec(t *testing.T) {
	env := map[string]string{"A": "--x=1  --y", "EMPTY": "", "B": "b c"}
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"/bin/k $A $EMPTY", []string{"/bin/k", "--x=1", "--y"}},       // $VAR alone: split at whitespace
		{"/bin/k ${B} --z=${B}", []string{"/bin/k", "b c", "--z=b c"}}, // ${VAR}: one word
		{`/bin/k "$A" 'lit $A'`, []string{"/bin/k", "$A", "lit $A"}},   // quoted: not split
		{"-/bin/k $MISSING", []string{"/bin/k"}},                       // prefix dropped, unset is empty
	} {
		got, err := expandExec(tc.line, env)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("expandExec(%q) = %q, %v; want %q", tc.line, got, err, tc.want)
		}
	}
	if _, err := expandExec(`/bin/k "open`, env); err == nil {
		t.Error("unbalanced quotes: no error")
	}
}

func TestParseEnvFile(t *testing.T) {
	got, err := parseEnvFile([]byte(`# comment
; comment
KUBELET_EXTRA_ARGS=
KUBELET_KUBEADM_ARGS="--node-ip=192.0.2.10 --v=2"
SINGLE='a "b"'
CONT=one \
two
KUBELET_EXTRA_ARGS="--late"
`))
	want := []string{"KUBELET_EXTRA_ARGS=", "KUBELET_KUBEADM_ARGS=--node-ip=192.0.2.10 --v=2", `SINGLE=a "b"`, "CONT=one  two", "KUBELET_EXTRA_ARGS=--late"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("parseEnvFile = %q, %v; want %q", got, err, want)
	}
}

// TestLoadUnit: the first directory holding the unit wins; drop-ins apply in
// file-name order, a higher-priority directory's drop-in replacing a
// lower one's of the same name; "ExecStart=" resets.
func TestLoadUnit(t *testing.T) {
	high, low := t.TempDir(), t.TempDir()
	write := func(dir, name, data string) {
		t.Helper()
		if err := writeFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(low, "k.service", "[Unit]\nDescription=low\n[Service]\nExecStart=/low\n")
	write(high, "k.service", "[Unit]\nDescription=high\n[Service]\nExecStart=/high\nRestart=always\nRestartSec=10\nOOMScoreAdjust=-999\n")
	write(low, "k.service.d/10-a.conf", "[Service]\nExecStart=\nExecStart=/low-a $X\n")
	write(low, "k.service.d/20-b.conf", "[Service]\nEnvironment=\"X=1 2\" Y=3\nRestartSec=2\n")
	write(high, "k.service.d/20-b.conf", "[Service]\nEnvironment=X=hi\nRestartSec=500ms\nEnvironmentFile=-/nonexistent\n")
	u, err := loadUnit([]string{high, low}, "k.service")
	if err != nil {
		t.Fatal(err)
	}
	if u.description != "high" || u.execStart != "/low-a $X" || u.restart != "always" || u.restartSec != 500*time.Millisecond {
		t.Errorf("unit = %+v", u)
	}
	if !reflect.DeepEqual(u.environment, []string{"X=hi"}) || len(u.dropIns) != 2 || len(u.ignored) != 1 {
		t.Errorf("environment %q, drop-ins %q, ignored %q", u.environment, u.dropIns, u.ignored)
	}
	argv, env, err := u.command()
	if err != nil || !reflect.DeepEqual(argv, []string{"/low-a", "hi"}) || !strings.Contains(strings.Join(env, "\n"), "X=hi") {
		t.Errorf("command = %q, %q, %v", argv, env, err)
	}
	if _, err := loadUnit([]string{high, low}, "absent.service"); err == nil {
		t.Error("absent unit: no error")
	}
	os.Remove(filepath.Join(high, "k.service.d/20-b.conf"))
	if diskStamp([]string{high, low}, "k.service") == u.stamp {
		t.Error("stamp did not change with a drop-in removed")
	}
}

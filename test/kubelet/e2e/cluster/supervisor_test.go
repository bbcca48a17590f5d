package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/test/kubelet/e2e/unitapi"
)

// TestSupervisor drives a unit through the socket as the node's systemctl
// does: start, flags from an environment file re-read at restart, Restart=
// after a crash, the daemon-reload warning, stop.
func TestSupervisor(t *testing.T) {
	dir := t.TempDir()
	units, envFile := filepath.Join(dir, "units"), filepath.Join(dir, "default-app")
	unitFile := "[Unit]\nDescription=test app\n[Service]\n" +
		"ExecStart=/bin/sh -c 'echo args: \"$@\"; exec sleep 1000' sh $APP_ARGS\n" +
		"EnvironmentFile=-" + envFile + "\nRestart=always\nRestartSec=0.1\n"
	if err := writeFile(filepath.Join(units, "app.service"), []byte(unitFile), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := newSupervisor(filepath.Join(dir, "logs"), filepath.Join(dir, "systemctl.sock"), []string{units})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctl := func(args ...string) unitapi.Reply { // through the socket, as cmd/systemctl
		t.Helper()
		conn, err := net.Dial("unix", s.socket)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		json.NewEncoder(conn).Encode(unitapi.Request{Args: args})
		var r unitapi.Reply
		if err := json.NewDecoder(conn).Decode(&r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	value := func(prop string) string {
		t.Helper()
		return strings.TrimSpace(ctl("show", "-p", prop, "--value", "app").Stdout)
	}
	ctx := context.Background()
	waitLog := func(want string) {
		t.Helper()
		if err := poll(ctx, 10*time.Second, "app.log to say "+want, func(context.Context) (bool, error) {
			b, _ := os.ReadFile(filepath.Join(dir, "logs", "app.log"))
			sl, _ := os.ReadFile(filepath.Join(dir, "logs", "supervisor.log"))
			if !strings.Contains(string(b), want) {
				return false, fmt.Errorf("app.log: %q; supervisor.log: %s", b, sl)
			}
			return true, nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	if r := ctl("is-active", "app"); r.Code != 3 || r.Stdout != "inactive\n" {
		t.Errorf("is-active before start: %+v", r)
	}
	if r := ctl("start", "app.service"); r.Code != 0 {
		t.Fatalf("start: %+v", r)
	}
	if r := ctl("is-active", "--quiet", "app"); r.Code != 0 || r.Stdout != "" {
		t.Errorf("is-active --quiet: %+v", r)
	}
	waitLog("args:\n")
	first := value("MainPID")

	if err := os.WriteFile(envFile, []byte("APP_ARGS=\"--a --b\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := ctl("restart", "app"); r.Code != 0 || r.Stderr != "" {
		t.Fatalf("restart: %+v", r)
	}
	waitLog("args: --a --b\n")
	second := value("MainPID")
	if second == first || value("ActiveState") != "active" || value("NRestarts") != "0" {
		t.Errorf("after restart: MainPID %s -> %s, %s", first, second, ctl("show", "app").Stdout)
	}

	pid := 0
	for _, ch := range second {
		pid = pid*10 + int(ch-'0')
	}
	syscall.Kill(pid, syscall.SIGKILL)
	if err := poll(ctx, 10*time.Second, "the automatic restart", func(context.Context) (bool, error) {
		return value("NRestarts") == "1" && value("ActiveState") == "active", nil
	}); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(filepath.Join(units, "app.service"), []byte(unitFile+"KillMode=process\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := ctl("restart", "app"); r.Code != 0 || !strings.Contains(r.Stderr, "daemon-reload") || value("NeedDaemonReload") != "yes" {
		t.Errorf("restart with the unit changed on disk: %+v", r)
	}
	if r := ctl("daemon-reload"); r.Code != 0 || value("NeedDaemonReload") != "no" || value("KillMode") != "process" {
		t.Errorf("daemon-reload: %+v, %s", r, ctl("show", "app").Stdout)
	}
	if r := ctl("status", "app"); r.Code != 0 || !strings.Contains(r.Stdout, "Active: active (running)") {
		t.Errorf("status: %+v", r)
	}
	if r := ctl("stop", "app"); r.Code != 0 || value("ActiveState") != "inactive" {
		t.Errorf("stop: %+v", r)
	}
	if r := ctl("restart", "nope"); r.Code != 5 || !strings.Contains(r.Stderr, "not found") {
		t.Errorf("restart of an unknown unit: %+v", r)
	}
	if r := ctl("frobnicate"); r.Code != 1 {
		t.Errorf("unknown verb: %+v", r)
	}
}

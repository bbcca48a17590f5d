package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/gcrcred/gcrcred/test/fakeminikube/unitfile"
)

// This file runs inside a node (chroot), as /usr/bin/systemctl. It loads a
// unit and its drop-ins as systemd does (test/fakeminikube/unitfile, the
// fakes' one loader), keeps what it loaded until the next daemon-reload,
// runs ExecStartPre=,
// and "starts" the service by checking what it would check at start: the
// kubelet exits when its flags name missing or invalid provider files, k3s
// and rke2 pass their kubelet the provider flags when their default files
// exist. A running service is a /proc/PID directory (cmdline, comm, stat,
// status, cgroup, and exe: a hard link to the file it runs, which stat
// sees as the kernel's magic link) that gcrcred reads as it reads the real
// /proc; PID 1 is systemd, in its init.scope (proc.go).
//
// Faults: a line naming a unit in /run/fakenode/faults makes that unit's
// kubelet exit at start whenever it is given a credential provider config.

const (
	fakeDir    = "/run/fakenode"
	callsFile  = fakeDir + "/systemctl.log"
	faultsFile = fakeDir + "/faults"
)

func unitFile(unit string) string  { return fakeDir + "/" + unit + ".unit.json" } // what daemon-reload loaded
func stateFile(unit string) string { return fakeDir + "/" + unit + ".state" }     // active, activating (restart loop), inactive, failed
func logFile(unit string) string   { return fakeDir + "/" + unit + ".log" }

// kubeletArgsFile is what a k3s unit gave its embedded kubelet (tests read it).
func kubeletArgsFile(unit string) string { return fakeDir + "/" + unit + ".kubelet-args" }

// pids are where each kind of service shows in /proc.
const (
	kubeletPID = 4242
	k3sPID     = 4243
	rke2PID    = 4244
)

func systemdEnv() []string {
	return []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
}

func systemctl(args []string) int {
	var words []string
	quiet := false
	for _, a := range args {
		switch {
		case a == "--quiet" || a == "-q":
			quiet = true
		case strings.HasPrefix(a, "-"):
		default:
			words = append(words, a)
		}
	}
	appendFile(callsFile, fmt.Sprintf("uid=%d systemctl %s\n", os.Geteuid(), strings.Join(args, " ")))
	if os.Geteuid() == 0 {
		if err := systemdProc(); err != nil {
			return exitOn(err)
		}
	}
	if len(words) == 0 {
		fmt.Fprintln(os.Stderr, "systemctl: fake: no verb")
		return 1
	}
	verb, unit := words[0], ""
	if len(words) > 1 {
		unit = strings.TrimSuffix(words[1], ".service")
	}
	switch verb {
	case "daemon-reload", "start", "stop", "restart", "enable", "disable", "reload":
		if os.Geteuid() != 0 {
			fmt.Fprintf(os.Stderr, "Failed to %s: Access denied\nSee system logs and 'systemctl status' for details.\n", verb)
			return 1
		}
	}
	if verb == "daemon-reload" {
		for _, u := range unitfile.Names("/") {
			l, err := unitfile.Load("/", u)
			if err != nil {
				fmt.Fprintf(os.Stderr, "fake systemd: %v\n", err)
				return 1
			}
			b, _ := json.Marshal(l)
			if err := os.WriteFile(unitFile(u), b, 0o644); err != nil {
				return exitOn(err)
			}
		}
		return 0
	}
	if unit == "" {
		return 0
	}
	if !unitfile.Exists("/", unit) {
		switch verb {
		case "is-active":
			if !quiet {
				fmt.Println("inactive")
			}
			return 3
		case "start", "restart", "stop", "status":
			fmt.Fprintf(os.Stderr, "Failed to %s %s.service: Unit %s.service not found.\n", verb, unit, unit)
			return 5
		}
		return 0
	}
	switch verb {
	case "start", "restart":
		return startUnit(unit)
	case "stop":
		stopProcess(unit)
		return exitOn(os.WriteFile(stateFile(unit), []byte("inactive\n"), 0o644))
	case "is-active":
		st := unitState(unit)
		if !quiet {
			fmt.Println(st)
		}
		if st == "active" {
			return 0
		}
		return 3
	case "status":
		why, _ := os.ReadFile(logFile(unit))
		fmt.Printf("● %s.service\n     Active: %s\n%s", unit, unitState(unit), why)
		if unitState(unit) == "active" {
			return 0
		}
		return 3
	}
	return 0
}

// unitState is the unit's state; a service in its restart loop starts for
// real once what it lacked is there, as Restart=always would make it.
func unitState(unit string) string {
	b, _ := os.ReadFile(stateFile(unit))
	st := strings.TrimSpace(string(b))
	if st == "" {
		return "inactive"
	}
	if st == "activating" && os.Geteuid() == 0 {
		if u, err := loadedOrFresh(unit); err == nil {
			if runService(u) == nil {
				return "active"
			}
		}
	}
	return st
}

// tickSystemd lets a node's systemd retry a kubelet in its restart loop, as
// time passing would: the fake calls it before it lets anyone look.
func tickSystemd(root string) {
	if st, _ := os.ReadFile(filepath.Join(root, stateFile("kubelet"))); strings.TrimSpace(string(st)) != "activating" {
		return // nothing to retry
	}
	inNode(root, rootIdentity, systemdEnv(), "/usr/bin/systemctl", "--quiet", "is-active", "kubelet").Run()
}

// startUnit runs ExecStartPre= lines, then the service. Like systemd with
// Type=simple, a service that exits right after starting does not fail the
// start job: the unit goes into its restart loop ("activating").
func startUnit(unit string) int {
	u, err := loadedOrFresh(unit)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fake systemd: %v\n", err)
		return 1
	}
	if fresh, err := unitfile.Load("/", unit); err == nil && fresh.Digest != u.Digest {
		fmt.Fprintf(os.Stderr, "Warning: The unit file, source configuration file or drop-ins of %s.service changed on disk. Run 'systemctl daemon-reload' to reload units.\n", unit)
	}
	stopProcess(unit)
	for _, pre := range u.Pre {
		ignore := strings.HasPrefix(pre, "-")
		argv := strings.Fields(strings.TrimLeft(pre, "-@+!"))
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = systemdEnv()
		out, err := cmd.CombinedOutput()
		appendFile(logFile(unit), fmt.Sprintf("ExecStartPre=%s: %v\n%s", pre, err, out))
		if err != nil && !ignore {
			os.WriteFile(stateFile(unit), []byte("failed\n"), 0o644)
			fmt.Fprintf(os.Stderr, "Job for %s.service failed because the control process exited with error code.\n", unit)
			return 1
		}
	}
	if err := runService(u); err != nil {
		appendFile(logFile(unit), fmt.Sprintf("%s %s exited: %v\n", time.Now().Format(time.RFC3339), unit, err))
		if err := os.WriteFile(stateFile(unit), []byte("activating\n"), 0o644); err != nil {
			return exitOn(err)
		}
		if u.Notify {
			// The job waits for READY=1, which never comes: systemctl
			// fails, and Restart=always keeps the unit activating.
			fmt.Fprintf(os.Stderr, "Job for %s.service failed because the control process exited with error code.\n", unit)
			return 1
		}
		return 0
	}
	return 0
}

// runService checks what the service checks at start and, if all is there,
// records it running.
func runService(u *unitfile.Unit) error {
	argv := u.Argv("/")
	if len(argv) == 0 {
		return fmt.Errorf("empty ExecStart")
	}
	if fi, err := os.Stat(argv[0]); err != nil || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("status=203/EXEC: %s is not an executable", argv[0])
	}
	var err error
	switch {
	case u.Name == "kubelet":
		if err = checkKubelet(argv, u.Name); err == nil {
			err = runProcess(u, kubeletPID, 1, "kubelet", argv, argv[0])
		}
	case strings.HasPrefix(u.Name, "k3s"), strings.HasPrefix(u.Name, "rke2"):
		kubelet := rancherKubelet(u.Name, argv)
		if err = checkKubelet(kubelet, u.Name); err != nil {
			break
		}
		os.WriteFile(kubeletArgsFile(u.Name), []byte(strings.Join(kubelet, "\n")+"\n"), 0o644)
		if strings.HasPrefix(u.Name, "k3s") {
			comm := "k3s-server"
			if u.Name == "k3s-agent" {
				comm = "k3s-agent"
			}
			// k3s re-executes itself from its data directory.
			exe := argv[0]
			if m, _ := filepath.Glob("/var/lib/rancher/k3s/data/*/bin/k3s"); len(m) > 0 {
				exe = m[0]
			}
			err = runProcess(u, k3sPID, 1, comm, argv, exe)
		} else {
			// rke2 runs the kubelet as a process of its own.
			if err = runProcess(u, rke2PID, 1, "rke2", argv, argv[0]); err == nil {
				err = runProcess(u, kubeletPID, rke2PID, "kubelet", kubelet, "")
			}
		}
	}
	if err != nil {
		return err
	}
	return os.WriteFile(stateFile(u.Name), []byte("active\n"), 0o644)
}

// rancherKubelet is the command line k3s or rke2 gives its kubelet: the
// provider flags only when the bin dir and the config file exist (the
// defaults, or what their config.yaml or command line say).
func rancherKubelet(unit string, argv []string) []string {
	bin, config := "/var/lib/rancher/credentialprovider/bin", "/var/lib/rancher/credentialprovider/config.yaml"
	dir := "/etc/rancher/k3s"
	if strings.HasPrefix(unit, "rke2") {
		dir = "/etc/rancher/rke2"
	}
	if b, err := os.ReadFile(dir + "/config.yaml"); err == nil {
		var m map[string]any
		if yaml.Unmarshal(b, &m) == nil {
			if v, ok := m["image-credential-provider-bin-dir"].(string); ok {
				bin = v
			}
			if v, ok := m["image-credential-provider-config"].(string); ok {
				config = v
			}
		}
	}
	kubelet := []string{"/var/lib/rancher/kubelet", "--config=/var/lib/kubelet/config.yaml"}
	bi, err1 := os.Stat(bin)
	ci, err2 := os.Stat(config)
	if err1 == nil && bi.IsDir() && err2 == nil && !ci.IsDir() {
		kubelet = append(kubelet, "--image-credential-provider-bin-dir="+bin, "--image-credential-provider-config="+config)
	}
	return kubelet
}

// faulty reports whether the faults file names the unit.
func faulty(unit string) bool {
	b, _ := os.ReadFile(faultsFile)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) == unit {
			return true
		}
	}
	return false
}

// loadedOrFresh is what the last daemon-reload loaded, else the files now
// (systemd loads units at boot).
func loadedOrFresh(unit string) (*unitfile.Unit, error) {
	if b, err := os.ReadFile(unitFile(unit)); err == nil {
		var u unitfile.Unit
		if json.Unmarshal(b, &u) == nil {
			return &u, nil
		}
	}
	return unitfile.Load("/", unit)
}

func appendFile(path, s string) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		f.WriteString(s)
		f.Close()
	}
}

func exitOn(err error) int {
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake systemd:", err)
		return 1
	}
	return 0
}

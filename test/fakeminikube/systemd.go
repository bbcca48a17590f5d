package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// This file runs inside a node (chroot), as /usr/bin/systemctl. It knows one
// unit well, the kubelet: it loads kubelet.service and its drop-ins as
// systemd does, keeps what it loaded until the next daemon-reload, runs
// ExecStartPre= lines, and "starts" the kubelet by checking its flags as
// the kubelet does at start (exiting when the provider config or bin dir
// is missing); a running kubelet is a /proc/PID/cmdline file.

const (
	fakeDir   = "/run/fakenode"
	unitFile  = fakeDir + "/kubelet.unit.json" // what daemon-reload loaded
	stateFile = fakeDir + "/kubelet.state"     // active, activating (restart loop), inactive, failed
	logFile   = fakeDir + "/kubelet.log"
	callsFile = fakeDir + "/systemctl.log"
)

// loadedUnit is the kubelet unit as systemd holds it in memory.
type loadedUnit struct {
	Pre    []string // ExecStartPre= command lines
	Start  string   // the effective ExecStart=
	Digest string   // of the files it was loaded from
}

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
	switch {
	case verb == "daemon-reload":
		u, err := loadKubeletUnit()
		if err != nil {
			fmt.Fprintf(os.Stderr, "fake systemd: %v\n", err)
			return 1
		}
		b, _ := json.Marshal(u)
		return exitOn(os.WriteFile(unitFile, b, 0o644))
	case unit != "kubelet":
		return 0 // other units: recorded, nothing to do
	case verb == "start" || verb == "restart":
		return startKubelet()
	case verb == "stop":
		os.RemoveAll("/" + kubeletPIDDir)
		return exitOn(os.WriteFile(stateFile, []byte("inactive\n"), 0o644))
	case verb == "is-active":
		st := kubeletState()
		if !quiet {
			fmt.Println(st)
		}
		if st == "active" {
			return 0
		}
		return 3
	case verb == "status":
		why, _ := os.ReadFile(logFile)
		fmt.Printf("● kubelet.service\n     Active: %s\n%s", kubeletState(), why)
		if kubeletState() == "active" {
			return 0
		}
		return 3
	}
	return 0
}

// kubeletState is the unit's state; a kubelet in its restart loop starts
// for real once what it lacked is there, as Restart=always would make it.
func kubeletState() string {
	b, _ := os.ReadFile(stateFile)
	st := strings.TrimSpace(string(b))
	if st == "" {
		return "inactive"
	}
	if st == "activating" && os.Geteuid() == 0 {
		if u, err := loadedOrFresh(); err == nil && checkKubelet(splitWords(u.Start)) == nil && runKubelet(u) == nil {
			return "active"
		}
	}
	return st
}

// tickSystemd lets a node's systemd retry a kubelet in its restart loop, as
// time passing would: the fake calls it before it lets anyone look.
func tickSystemd(root string) {
	inNode(root, rootIdentity, systemdEnv(), "/usr/bin/systemctl", "--quiet", "is-active", "kubelet").Run()
}

// startKubelet runs ExecStartPre= lines, then the kubelet. Like systemd with
// Type=simple, a kubelet that exits right after starting does not fail the
// start job: the unit goes into its restart loop ("activating").
func startKubelet() int {
	u, err := loadedOrFresh()
	if err != nil {
		fmt.Fprintf(os.Stderr, "fake systemd: %v\n", err)
		return 1
	}
	if fresh, err := loadKubeletUnit(); err == nil && fresh.Digest != u.Digest {
		fmt.Fprintln(os.Stderr, "Warning: The unit file, source configuration file or drop-ins of kubelet.service changed on disk. Run 'systemctl daemon-reload' to reload units.")
	}
	os.RemoveAll("/" + kubeletPIDDir)
	for _, pre := range u.Pre {
		ignore := strings.HasPrefix(pre, "-")
		argv := splitWords(strings.TrimLeft(pre, "-@+!"))
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = systemdEnv()
		out, err := cmd.CombinedOutput()
		appendFile(logFile, fmt.Sprintf("ExecStartPre=%s: %v\n%s", pre, err, out))
		if err != nil && !ignore {
			os.WriteFile(stateFile, []byte("failed\n"), 0o644)
			fmt.Fprintln(os.Stderr, "Job for kubelet.service failed because the control process exited with error code.")
			return 1
		}
	}
	if err := checkKubelet(splitWords(u.Start)); err != nil {
		appendFile(logFile, fmt.Sprintf("%s kubelet exited: %v\n", time.Now().Format(time.RFC3339), err))
		return exitOn(os.WriteFile(stateFile, []byte("activating\n"), 0o644))
	}
	return exitOn(runKubelet(u))
}

// runKubelet records the running kubelet where /proc would show it.
func runKubelet(u *loadedUnit) error {
	dir := "/" + kubeletPIDDir
	if err := os.MkdirAll(dir, 0o555); err != nil {
		return err
	}
	argv := splitWords(u.Start)
	if err := os.WriteFile(dir+"/cmdline", []byte(strings.Join(argv, "\x00")+"\x00"), 0o444); err != nil {
		return err
	}
	if err := os.WriteFile(dir+"/comm", []byte("kubelet\n"), 0o444); err != nil {
		return err
	}
	return os.WriteFile(stateFile, []byte("active\n"), 0o644)
}

// loadedOrFresh is what the last daemon-reload loaded, else the files now
// (systemd loads units at boot).
func loadedOrFresh() (*loadedUnit, error) {
	if b, err := os.ReadFile(unitFile); err == nil {
		var u loadedUnit
		if json.Unmarshal(b, &u) == nil {
			return &u, nil
		}
	}
	return loadKubeletUnit()
}

// loadKubeletUnit merges kubelet.service and its drop-ins (*.conf, in name
// order): "ExecStart=" empties the list, a later one replaces it.
func loadKubeletUnit() (*loadedUnit, error) {
	files := []string{"/lib/systemd/system/kubelet.service"}
	if _, err := os.Stat("/etc/systemd/system/kubelet.service"); err == nil {
		files = []string{"/etc/systemd/system/kubelet.service"}
	}
	dropIns, _ := filepath.Glob("/etc/systemd/system/kubelet.service.d/*.conf")
	sort.Strings(dropIns)
	files = append(files, dropIns...)
	u := &loadedUnit{}
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("loading %s: %v", f, err)
		}
		fmt.Fprintf(h, "%s\x00%s\x00", f, b)
		section := ""
		for _, line := range logicalLines(string(b)) {
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
			}
		}
	}
	if u.Start == "" {
		return nil, fmt.Errorf("kubelet.service has no ExecStart=")
	}
	u.Digest = hex.EncodeToString(h.Sum(nil))
	return u, nil
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

func splitWords(s string) []string { return strings.Fields(s) }

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

package fakecluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gcrcred/gcrcred/test/testbin"
)

// Node is one node root on this machine: a node of a fake minikube profile,
// or a standalone one of any flavour made by NewNode.
type Node struct {
	t    testing.TB
	Root string
}

// Flavours are the standalone node roots NewNode makes (see
// test/fakeminikube/flavours.go).
var Flavours = []string{
	"kicbase", "buildroot", "kubeadm", "kubeadm-rpm", "kubeadm-flags-env", "kind", "k3s", "rke2",
	"provider-config-yaml", "provider-config-json", "provider-config-dir", "unsupported",
}

// NewNode makes a node root of the flavour, its main service started as
// the image would start it (its systemctl is the fake's).
func NewNode(t testing.TB, flavour string) *Node {
	t.Helper()
	Require(t)
	root := filepath.Join(t.TempDir(), "root")
	cmd := exec.Command(filepath.Join(Build(t), "fakenode"), "create", root, flavour)
	cmd.Env = []string{"FAKE_MINIKUBE_USERLAND=" + userland(t)}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fakenode create %s: %v\n%s", flavour, err, out)
	}
	return &Node{t: t, Root: root}
}

// Node is the named node of the profile.
func (c *Cluster) Node(name string) *Node { return &Node{t: c.t, Root: c.Root(name)} }

// Exec runs argv inside the node as u, with exactly env, and stdin.
func (n *Node) Exec(u User, env []string, stdin string, argv ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = "/"
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Chroot:     n.Root,
		Credential: &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: u.Groups},
	}
	err = cmd.Run()
	return o.String(), e.String(), err
}

// Systemctl runs the node's systemctl as root.
func (n *Node) Systemctl(args ...string) (string, error) {
	out, stderr, err := n.Exec(RootUser, []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, "", append([]string{"/usr/bin/systemctl"}, args...)...)
	return out + stderr, err
}

// Tree is a snapshot of the node without the fake's own bookkeeping and
// the emulated /proc.
func (n *Node) Tree() Tree {
	n.t.Helper()
	return Snapshot(n.t, n.Root, "run/fakenode", "dev", "proc")
}

// Stamps are the node's Stamps, without the fake's own bookkeeping, the
// emulated /proc and /var/tmp (where host installers stage their copies).
func (n *Node) Stamps() Tree {
	n.t.Helper()
	return Stamps(n.t, n.Root, "run/fakenode", "dev", "proc", "var/tmp")
}

// KubeletArgs are the flags of the running kubelet (its /proc entry, or
// what k3s gave the kubelet inside it); nil if none runs.
func (n *Node) KubeletArgs() map[string]string {
	if b, err := os.ReadFile(filepath.Join(n.Root, "proc/4242/cmdline")); err == nil {
		return flagMap(strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"))
	}
	if _, err := os.Stat(filepath.Join(n.Root, "proc/4243")); err == nil {
		for _, unit := range []string{"k3s", "k3s-agent"} {
			if b, err := os.ReadFile(filepath.Join(n.Root, "run/fakenode", unit+".kubelet-args")); err == nil {
				return flagMap(strings.Fields(string(b)))
			}
		}
	}
	return nil
}

// FailUnit makes the unit's kubelet exit at start whenever it is given a
// credential provider config (as one too old for the flags would).
func (n *Node) FailUnit(unit string) {
	n.t.Helper()
	f, err := os.OpenFile(filepath.Join(n.Root, "run/fakenode/faults"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		n.t.Fatal(err)
	}
	defer f.Close()
	f.WriteString(unit + "\n")
}

// ClearFaults removes the node's faults.
func (n *Node) ClearFaults() { os.Remove(filepath.Join(n.Root, "run/fakenode/faults")) }

// Restarts counts `systemctl restart UNIT` calls the node saw.
func (n *Node) Restarts(unit string) int {
	b, _ := os.ReadFile(filepath.Join(n.Root, "run/fakenode/systemctl.log"))
	count := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasSuffix(l, "systemctl restart "+unit) {
			count++
		}
	}
	return count
}

// Put writes a file a test needs inside the node, among the fake's own
// files (which snapshots leave out), and returns its node path.
func (n *Node) Put(name string, content []byte) string {
	n.t.Helper()
	tools := filepath.Join(n.Root, "run/fakenode/tools")
	if err := os.MkdirAll(tools, 0o755); err != nil {
		n.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tools, name), content, 0o600); err != nil {
		n.t.Fatal(err)
	}
	return "/run/fakenode/tools/" + name
}

// Lookup runs kubelet-lookup inside the node, as root with an empty
// environment (the kubelet's, under systemd), against config and binDir;
// extra are more of its flags (-sa, -sa-key with a node path from Put).
func (n *Node) Lookup(config, binDir, image string, extra ...string) (LookupResult, string, error) {
	n.t.Helper()
	tools := filepath.Join(n.Root, "run/fakenode/tools")
	if err := os.MkdirAll(tools, 0o755); err != nil {
		n.t.Fatal(err)
	}
	dst := filepath.Join(tools, "kubelet-lookup")
	if _, err := os.Stat(dst); err != nil {
		src := KubeletLookup(n.t)
		if err := os.Link(src, dst); err != nil && !errors.Is(err, fs.ErrExist) { // 75 MB: link where it can
			if err := testbin.CopyProgram(src, dst); err != nil {
				n.t.Fatal(err)
			}
		}
	}
	argv := append([]string{"/run/fakenode/tools/kubelet-lookup",
		"-config", config, "-bin-dir", binDir, "-image", image, "-count-execs=false"}, extra...)
	out, stderr, err := n.Exec(RootUser, []string{}, "", argv...)
	var r LookupResult
	if err == nil {
		err = json.Unmarshal([]byte(out), &r)
	}
	return r, stderr, err
}

// Process is a process a test shows in a node's emulated /proc.
type Process struct {
	PID, PPID int
	UID       int // its /proc directory and files are this user's, as the kernel makes them
	Comm      string
	Args      []string
	Cgroup    string // all of /proc/PID/cgroup
}

// StartProcess puts p in the node's /proc (the fake systemd's own
// processes are PID 1 and 4242-4244).
func (n *Node) StartProcess(p Process) {
	n.t.Helper()
	dir := filepath.Join(n.Root, "proc", strconv.Itoa(p.PID))
	files := map[string]string{
		"cmdline": strings.Join(p.Args, "\x00") + "\x00",
		"comm":    p.Comm + "\n",
		"stat":    fmt.Sprintf("%d (%s) S %d %d %d 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n", p.PID, p.Comm, p.PPID, p.PID, p.PID),
		"status":  fmt.Sprintf("Name:\t%s\nPPid:\t%d\nUid:\t%d\t%d\t%d\t%d\nGid:\t%d\t%d\t%d\t%d\n", p.Comm, p.PPID, p.UID, p.UID, p.UID, p.UID, p.UID, p.UID, p.UID, p.UID),
		"cgroup":  p.Cgroup,
	}
	if err := os.MkdirAll(dir, 0o555); err != nil {
		n.t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o444); err != nil {
			n.t.Fatal(err)
		}
		if err := os.Chown(filepath.Join(dir, name), p.UID, p.UID); err != nil {
			n.t.Fatal(err)
		}
	}
	if err := os.Chown(dir, p.UID, p.UID); err != nil {
		n.t.Fatal(err)
	}
}

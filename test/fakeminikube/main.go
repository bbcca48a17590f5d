// Command fakeminikube is a stand-in for the minikube CLI, and for the kind,
// docker and kubectl CLIs, good enough for `gcrcred minikube` and `gcrcred
// kind` to be tested against: a "node" is a root file system entered with
// chroot, its userland test/userland (a static POSIX shell and the few
// utilities a minimal node's busybox has, with their options and no more),
// so node commands run on a real minimal userland. It needs root.
//
// The same binary plays, by the name it is run as:
//
//	minikube   -p/--profile, start [--nodes N] [--extra-config C] [--kubernetes-version V],
//	           stop, status -o json, node list, node add, ssh [-n NODE] -- CMD,
//	           cp SRC [NODE:]DST
//	systemctl  inside a node: daemon-reload, start/stop/restart/is-active/status,
//	           emulating systemd's unit loading and a kubelet (also k3s's and
//	           rke2's) that exits at start when its flags name missing files,
//	           as the real one does; the running service shows in /proc
//	sudo       inside a node: setuid root, with sudo's environment reset
//	uname      inside a node: `uname -m` says the node's architecture
//	fakenode   `fakenode create ROOT FLAVOR [ARCH]`: a standalone node root of
//	           any flavour in flavours.go (minikube's, kubeadm, kind, k3s,
//	           rke2, managed images with a provider config, unsupported), its
//	           kubelet started, for `gcrcred node` tests
//	kind       create cluster [--name N] [--config F], get nodes, get clusters,
//	           delete cluster: nodes of the kind flavour (kind.go)
//	docker     exec, cp and restart on kind's nodes (docker.go)
//	kubectl    --context C apply -f - and delete -l, for the installers'
//	           RBAC (kubectl.go)
//	no-openat2 ENOSYS|EPERM PROGRAM ARGS...: PROGRAM under a seccomp filter
//	           that fails openat2, as an old kernel or a container runtime's
//	           profile does (noopenat2.go)
//
// Environment:
//
//	FAKE_MINIKUBE_STATE     directory for node roots and logs (required)
//	MINIKUBE_HOME           as minikube: profiles/ and files/ live under it
//	FAKE_MINIKUBE_USERLAND  the static userland to build nodes from (go build
//	                        ./test/userland; default: userland beside this program)
//	FAKE_MINIKUBE_NODES     comma-separated "flavor/arch" for nodes 1, 2, ...
//	                        (flavor kicbase or buildroot; arch x86_64 or
//	                        aarch64; default kicbase/x86_64; the last repeats)
//	FAKE_MINIKUBE_SECRET    a string only secrets contain: a `cp` that leaves
//	                        it world-readable is logged to violations.log
//	FAKE_KIND_ARCH          what `uname -m` says on kind's nodes (x86_64)
//
// Faults: each line "VERB NODE [SUBSTRING]" of $FAKE_MINIKUBE_STATE/faults
// makes that verb (ssh, cp; docker's exec, cp) fail on that node, when
// SUBSTRING (if given) occurs in the command or destination.
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// tools are the programs the fake plays, by the name it is run as.
var tools = map[string]func(args []string) int{
	"systemctl": systemctl,
	"sudo":      sudo,
	"uname":     uname,
	"fakenode":  fakenode,
	"kind":      kind,
	"docker":    docker,
	"kubectl":   kubectl,
	// no-openat2 ENOSYS|EPERM PROGRAM ARGS...: PROGRAM where openat2 fails (noopenat2.go)
	"no-openat2": noOpenat2,
}

func main() {
	run, ok := tools[filepath.Base(os.Args[0])]
	if !ok {
		run = minikube
	}
	os.Exit(run(os.Args[1:]))
}

// fail prints a minikube-style error and returns minikube's usual code.
func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "X  "+format+"\n", args...)
	return 1
}

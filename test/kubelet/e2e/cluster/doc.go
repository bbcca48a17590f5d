// Package cluster runs a real single-node Kubernetes cluster on this
// machine, offline and on loopback only, for end-to-end tests of gcrcred on
// a node: Debian's systemd is the node's PID 1, the Kubernetes packages'
// kubelet.service and kubeadm's drop-in run the kubelet, kubeadm makes the
// PKI, kubeconfigs and static pods, and containerd pulls a private image
// from a Google-like registry through gcrcred.
//
// # Running it
//
//	make e2e    # as root: GCRCRED_E2E=1 go test ./e2e/ in test/kubelet
//
// The machine needs Debian's systemd, containerd, runc,
// containernetworking-plugins, iproute2 and util-linux (nsenter); see
// .ci/run. The first run builds etcd, Kubernetes and kubeadm from the
// versions test/kubelet's go.mod pins ("tool" entries) and the control-plane
// images made of them, into CACHE/k8s-VERSION-KEY (KEY: a hash of the Go
// version, the platform and the module graph). Environment:
//
//	GCRCRED_E2E=1          run at all (TestE2E skips otherwise)
//	GCRCRED_TEST_BIN_DIR   the gcrcred build under test (make build's bin/); else built for the run
//	GCRCRED_E2E_IMAGE      the gcrcred image under test (make image's OCI layout tarball); default dist/gcrcred-image.tar
//	GCRCRED_E2E_CACHE      where built programs are kept (default: the repository's bin/e2e)
//	GCRCRED_E2E_SCRATCH    where a run's scratch directory is made (default: the temp directory)
//	GCRCRED_E2E_KEEP=1     keep the scratch directory, with the node's journal, after the run
//
// # Three programs, one binary (host.go, boot.go)
//
// The host makes a scratch directory and a cgroup of the run's own in every
// hierarchy, then starts the test binary again as PID 1 of new mount, PID,
// network, UTS and IPC namespaces (the init). The init joins the run's
// cgroup, makes it the root of a cgroup namespace, builds the node's root
// and executes /lib/systemd/systemd --system --unit=gcrcred-e2e-node.target,
// as a container runtime boots a systemd container. The host then runs the
// test binary a third time inside the node (nsenter into all its
// namespaces): the runner starts the cluster and runs the scenarios. At the
// end the host powers the node off (SIGRTMIN+4) and removes the scratch
// directory and the run's cgroups.
//
// # The node's root
//
// An overlay over the machine's / whose upper layer is a tmpfs: every file
// the node changes (kubeadm, the kubelet, the installer, pods with hostPath
// /) is a change in that layer only. Around it, nothing of the machine that
// the node could change: a /dev of its own (tmpfs, the usual devices, the
// console a null device), a read-only sysfs of the node's network
// namespace, the machine's cgroup hierarchies mounted afresh in the cgroup
// namespace on a read-only tmpfs (so systemd mounts no hierarchy the
// machine has not), /proc/sys read-only but for the six settings the
// kubelet writes, each covered by a scratch file, and no CAP_SYS_MODULE or
// CAP_SYS_TIME. Units that would touch the machine (sysctl, modules,
// binfmt, udev, time, timers...) are masked. containerd's root is a plain
// scratch directory (its overlayfs snapshots cannot sit on an overlay).
// The network namespace has only "lo", with 127.0.0.1 and the node's
// InternalIP 192.0.2.10 (TEST-NET-1; the kubelet refuses a loopback
// --node-ip): no packet leaves the machine.
//
// In the node, /run/gcrcred-e2e holds scratch/ (the host's scratch
// directory), bin/ (the runner, gcrcred and its image, the pause and app
// programs, helm), k8s/ (the built programs, read-only) and repo/ (the
// repository, read-only: deploy/, charts/); kubelet, kubeadm and kubectl are
// bind-mounted at /usr/bin, where the packages put them.
//
// # The cluster (kubeadm.go)
//
// Before boot the node gets the Kubernetes packages' kubelet.service and
// 10-kubeadm.conf, /etc/default/kubelet (KUBELET_EXTRA_ARGS=) and
// containerd's configuration (SystemdCgroup, restrict_oom_score_adj: the
// machines lack CAP_SYS_RESOURCE; registries by hosts.toml; CNI loopback
// only, pods use the host's network). The runner imports the images,
// writes a kubeadm configuration (advertise address and node IP
// 192.0.2.10, etcd without fsync, failCgroupV1: false and failSwapOn:
// false for the kubelet) and runs `kubeadm init phase` certs all,
// kubeconfig all, etcd local, control-plane all and kubelet-start (which
// runs systemctl restart kubelet), then bootstrap-token once the API
// server answers. Processes end up where they would on a node: PID 1 in
// /init.scope, the kubelet in /system.slice/kubelet.service, pods under
// /kubepods.slice (checked from a hostPID pod at start).
//
// # Images and registry
//
// Nothing is pulled from the internet: the pause image, the control-plane
// images (named as `kubeadm config images list` says) and the app are each
// one static program made into an image and imported with ctr. The fake
// Google and the fake registry (test/fakegoogle, test/fakegcr) run
// in the runner, on 127.0.0.1 of the node; AppImage (gcr.io/fake-project/...)
// is pushed there, and containerd's certs.d/gcr.io/hosts.toml names the fake
// as the only host. The fake Google is reached through a tap (tap.go) that
// remembers every secret crossing it; FindSecretsInLogs looks for them in
// the journal and every pod's log. The gcrcred image under test is imported
// as a user would, and deploy/ is applied with `kubectl apply -k` or
// charts/gcrcred installed with the helm CLI (Binaries.Helm).
// SnapshotPaths records node files so that a scenario can show an uninstall
// left them as they were.
//
// # Failures
//
// DumpLogs prints the ends of the journal of systemd, containerd and the
// kubelet, the units' status, kubeadm's output, pods and events, each
// container's log, and the fakes' counters.
package cluster

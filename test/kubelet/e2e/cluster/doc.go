// Package cluster runs a real single-node Kubernetes cluster on this
// machine, offline and on loopback only, for end-to-end tests of gcrcred on
// a node: the kubelet really runs gcrcred as its image credential provider,
// containerd really pulls a private image from a Google-like registry, and a
// node installer can really write its files and restart the kubelet.
//
// # Running it
//
//	make e2e    # as root: GCRCRED_E2E=1 go test ./e2e/ in test/kubelet
//
// The machine needs Debian's containerd, runc, containernetworking-plugins
// and iproute2 (see .ci/run). The first run builds etcd and Kubernetes from
// source (about 6 minutes on 2 cores from an empty Go build cache); later
// runs reuse the binaries and take a minute or two. Environment:
//
//	GCRCRED_E2E=1          run at all (TestE2E skips otherwise)
//	GCRCRED_TEST_BIN_DIR   the gcrcred build under test (make build's bin/); else built for the run
//	GCRCRED_E2E_IMAGE      the gcrcred image under test (make image's OCI layout tarball); default dist/gcrcred-image.tar
//	GCRCRED_E2E_CACHE      where built binaries are kept (default: the repository's bin/e2e)
//	GCRCRED_E2E_SCRATCH    where a run's scratch directory is made (default: the temp directory)
//	GCRCRED_E2E_KEEP=1     keep the scratch directory (logs, the node's written files) after the run
//
// # What runs where
//
// Build (build.go) compiles, with CGO_ENABLED=0, etcd (go.etcd.io/etcd/server/v3)
// and kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and the
// kubelet (k8s.io/kubernetes, version stamped into
// k8s.io/component-base/version.gitVersion) from the versions test/kubelet's
// go.mod pins: they are "tool" entries there, so `go mod tidy` keeps them.
// They go to CACHE/k8s-VERSION-KEY, KEY a hash of the Go version, the
// platform and the module's build list: a rebuild happens only when a version
// changes. It also builds the node's systemctl (cmd/systemctl) and the
// programs of the two test images (cmd/pause, cmd/app).
//
// Then the program runs itself again, three processes deep (isolate.go):
//
//   - the host process makes a scratch directory and, after the node is
//     gone, removes it and the run's cgroups (and those of earlier runs that
//     were killed);
//   - the init is PID 1 of new mount, PID, network, UTS and IPC namespaces:
//     it makes / private (nothing mounted later is seen by the machine),
//     mounts a /proc of its own, names the host e2e-node, brings up "lo"
//     with the node's address, runs the node stage and reaps orphans; when
//     it exits the kernel kills whatever is left in the PID namespace, so
//     the harness only ever touches processes it started;
//   - the node stage (Start) builds the node and runs the scenario.
//
// # The node's root
//
// The node's root is the machine's own tree, made safe to write (node.go):
// a fresh tmpfs on /run, and an overlay on each of /etc, /usr/local, /opt,
// /var, /root, /home, /srv and /tmp whose upper layer is in scratch. So the
// kubelet, containerd, the installer and privileged pods with hostPath "/"
// (containerd resolves it in this mount namespace) all see, and write, one
// and the same tree, and the machine is untouched after the run.
// containerd's root is a plain scratch directory bind-mounted on
// /var/lib/containerd: its overlayfs snapshotter cannot stack on an overlay.
// The scratch directory itself is bind-mounted at /run/gcrcred-e2e/scratch,
// so it stays reachable even when it lives under an overlaid directory.
//
// Machine-wide state that no namespace hides is handled one by one:
//   - the kubelet sets six kernel settings at start (vm.overcommit_memory,
//     kernel.panic...); in the node each of those /proc/sys files is covered
//     by a bind-mounted scratch file holding the current value, which the
//     kubelet then rewrites instead of the kernel's;
//   - the kubelet (cgroupfs driver) and runc create cgroups in the machine's
//     cgroup file system: the kubelet's cgroupRoot is /gcrcred-e2e-PID, made
//     in every hierarchy (a cgroup v1 cpuset gets its parent's CPUs and memory
//     nodes) and removed after the run;
//   - the network: the node's namespace has only "lo", holding 127.0.0.1 and
//     the node's InternalIP 192.0.2.10 (TEST-NET-1; the kubelet refuses a
//     loopback --node-ip). No packet leaves the machine, nothing in the
//     cluster can reach another address, and the cluster's ports (6443,
//     10250, 2379...) clash with nothing on the machine.
//
// # systemd, without systemd
//
// The machines have no systemd as PID 1. The Supervisor (supervisor.go,
// unitfile.go) is a small stand-in: it loads units the way systemd does
// (NAME from /etc/systemd/system, /run/systemd/system, /lib/systemd/system,
// then every NAME.d/*.conf drop-in), applies Description, ExecStart (with
// systemd's $VAR word splitting and ${VAR} substitution), Environment,
// EnvironmentFile (re-read at each start), Restart, RestartSec, KillMode and
// TimeoutStopSec, and logs the directives it does not apply (OOMScoreAdjust
// and Limit* need CAP_SYS_RESOURCE, which these machines lack; containerd's
// ExecStartPre would load a kernel module). The node's systemctl (in
// /usr/local/bin, and bind-mounted over the machine's /usr/bin/systemctl in
// the node) talks to it over the unix socket /run/gcrcred-e2e/systemctl.sock,
// so it works on the node and through `chroot /host` from a pod. Verbs:
// daemon-reload, start, stop, restart, try-restart, reload-or-restart,
// enable/disable [--now], is-active [--quiet], is-failed, is-enabled, status,
// show [-p PROP,...] [--value] (ActiveState, SubState, MainPID, NRestarts,
// ActiveEnterTimestamp[Monotonic], NeedDaemonReload...), cat. Like systemd it
// warns when a unit changed on disk without a daemon-reload. Each unit's
// output goes to LOGDIR/UNIT.log, the supervisor's to LOGDIR/supervisor.log.
//
// containerd runs from Debian's own containerd.service. The kubelet runs as
// on a kubeadm node: kubelet.service plus kubeadm's 10-kubeadm.conf drop-in,
// whose ExecStart adds $KUBELET_KUBEADM_ARGS from
// /var/lib/kubelet/kubeadm-flags.env (here --node-ip and --v=2) and
// $KUBELET_EXTRA_ARGS from /etc/default/kubelet (empty, as Debian's package
// ships it). A 90-e2e.conf drop-in shortens RestartSec to 2 s.
//
// # The cluster
//
// Files are where kubeadm puts them: /etc/kubernetes/pki (one CA for
// everything; the kubelet's client certificate is CN system:node:e2e-node, O
// system:nodes, as the Node authorizer and NodeRestriction require),
// /etc/kubernetes/{admin,kubelet,controller-manager,scheduler}.conf,
// /var/lib/kubelet/config.yaml, /var/lib/etcd. The control plane runs as
// plain processes (a kubeadm node runs it as static pods): etcd on
// 127.0.0.1:2379 without fsync; kube-apiserver on 127.0.0.1:6443 with
// --advertise-address 127.0.0.1 and --endpoint-reconciler-type none (it
// refuses a loopback advertise address otherwise), Node,RBAC authorization,
// NodeRestriction, privileged pods allowed, and a service-account issuer
// that is the API server itself (ServiceAccountIssuer, signing key
// /etc/kubernetes/pki/sa.key, RS256): a token verifier finds the issuer's
// discovery document and keys at /.well-known/openid-configuration and
// /openid/v1/jwks (Cluster.JWKS). The controller manager uses per-controller
// service accounts; neither it nor the scheduler elects a leader.
//
// containerd (containerd.go) runs with restrict_oom_score_adj (without
// CAP_SYS_RESOURCE runc fails every sandbox otherwise), cgroupfs, the CNI
// loopback plugin only (the node is Ready; pods use hostNetwork; there is no
// kube-proxy and no DNS, so in-cluster clients reach the API server at
// https://127.0.0.1:6443, not at the kubernetes service), and registries
// configured by config_path hosts.toml files. The kubelet
// (kubelet.go) runs with failCgroupV1: false (the machines are cgroup v1
// hybrid), failSwapOn: false, cgroupDriver: cgroupfs and low eviction
// thresholds.
//
// # Images and registry
//
// Nothing is pulled from the internet. The sandbox image (PauseImage) is
// cmd/pause as a one-layer OCI image made with go-containerregistry and
// imported with `ctr -n k8s.io images import`. The fake Google and the fake
// registry (internal/fakegoogle, internal/fakegcr) run in the node stage's
// process, on 127.0.0.1 of the node's network namespace; cmd/app, as an OCI
// image, is pushed there as the private AppImage (gcr.io/fake-project/...).
// containerd's certs.d/gcr.io/hosts.toml names the fake as both server and
// only host, so containerd never tries gcr.io itself. The kubelet's
// provider credentials reach the fake: the kubelet leaves the CRI
// AuthConfig's ServerAddress empty, and containerd 1.6 then offers them to
// whichever host it is talking to (it withholds them only from a host that
// differs from a non-empty ServerAddress). PushAppImage pushes the same
// program under other names (per-team repositories, which Registry.Grant
// then restricts).
//
// The fake Google is reached through a tap (tap.go): a listener of its own
// whose URL becomes the fake's URL before any credential file is written,
// so every key and workload identity configuration sends its holder
// through it. The tap remembers each secret that crosses it (JWT
// assertions, subject tokens, bearer tokens, the access tokens the fake
// issues); FindSecretsInLogs then looks for exactly those values, and for
// their shapes, in the kubelet's, containerd's and every pod's logs.
//
// The gcrcred image under test (Config.Image) is imported as a user would
// import it (ImportImageArchive: `ctr -n k8s.io images import`, named by
// the tarball's io.containerd.image.name), and the repository's deploy/
// (Config.Deploy) is applied with `kubectl apply -k` from an overlay.
// SnapshotPaths records node files (type, mode, owner, content digest) so
// that a scenario can show an uninstall left them as they were.
//
// # Failures and teardown
//
// DumpLogs prints the ends of the supervisor's, the kubelet's, containerd's
// and the control plane's logs, the units' status, pods and events, each
// container's log, the installer DaemonSets' init container logs in full
// and their pods described, and the fakes' counters. Stop stops the kubelet and
// containerd, the control plane and the fakes, kills what is left in the
// PID namespace (shims, containers), unmounts everything mounted since
// Start deepest first, and removes the cgroups; the host then removes the
// scratch directory (refusing if anything is still mounted under it).
package cluster

// Package e2e runs gcrcred against a real single-node Kubernetes cluster on
// this machine (see package cluster for how the node is made). It runs with
// GCRCRED_E2E=1, as root: `make e2e`.
//
// One cluster runs the scenarios, one after the other, each installing
// gcrcred as a user of any cluster would (`make image`'s tarball imported
// into containerd, then `kubectl apply -k` of an overlay of deploy/, or
// `helm install` of charts/gcrcred) and uninstalling it as deploy/uninstall
// or the chart says, which must leave the node's files and the kubelet's
// flags exactly as they were:
//
//   - DaemonSet (scenarioDaemonSet), through kustomize: a node key in the
//     Secret; a private image fails to pull before, runs after; one token
//     mint for all pulls.
//   - PerPodIdentity (scenarioPerPodIdentity), through the Helm chart (the
//     helm CLI test/chart pins): adopted one team at a time
//     (--pod-identity annotated): the API server's service-account tokens
//     exchanged at a fake STS that trusts its JWKS for the accounts that ask;
//     each team's pod pulls as its own Google service account (or, opted in,
//     as its own principal) and only what it may read, also from the node's
//     image store; unannotated pods pull with the node's key.
//   - NodeTrust (scenarioNodeTrust), last: another user's process named
//     kubelet, started before kubelet.service, decides nothing.
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gcrcred/gcrcred/test/kubelet/e2e/cluster"
	"github.com/gcrcred/gcrcred/test/testbin"
)

func TestMain(m *testing.M) {
	cluster.MaybeRunInit() // the node's PID 1 never returns from here
	os.Exit(m.Run())
}

// TestE2E builds the cluster's programs, then runs itself again as the node
// (in new namespaces), where the scenario runs against the cluster.
func TestE2E(t *testing.T) {
	if cluster.Inside() {
		runNode(t)
		return
	}
	if os.Getenv("GCRCRED_E2E") == "" {
		t.Skip("the end-to-end cluster runs with GCRCRED_E2E=1 (make e2e)")
	}
	if os.Geteuid() != 0 {
		t.Fatal("the end-to-end cluster needs root (mount, network and PID namespaces, cgroups)")
	}
	start := time.Now()
	ctx, cancel := testContext(t)
	defer cancel()

	moduleDir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cacheDir := os.Getenv("GCRCRED_E2E_CACHE")
	if cacheDir == "" {
		cacheDir = filepath.Join(moduleDir, "..", "..", "bin", "e2e")
	}
	bins, err := cluster.Build(ctx, cluster.BuildOptions{ModuleDir: moduleDir, CacheDir: cacheDir, Logf: logf})
	if err != nil {
		t.Fatal(err)
	}
	bins.Gcrcred = filepath.Join(testbin.Build(t), "gcrcred")
	if bins.Helm, err = buildHelm(ctx, filepath.Join(moduleDir, "..", "chart"), bins.Tools); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(moduleDir, "..", "..")
	image, err := imageTarball(repo)
	if err != nil {
		t.Fatal(err)
	}
	logf("programs ready in %v (gcrcred: %s; image: %s)", time.Since(start).Round(100*time.Millisecond), bins.Gcrcred, image)

	host, err := cluster.NewHost()
	if err != nil {
		t.Fatal(err)
	}
	nodeStart := time.Now()
	err = host.RunNode(ctx, cluster.Config{Bin: bins, Image: image, Repo: repo},
		[]string{os.Args[0], "-test.run=" + runPattern(), "-test.v", "-test.count=1", "-test.timeout=0"})
	if cerr := host.Cleanup(context.Background()); cerr != nil {
		t.Errorf("cleaning up: %v", cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	logf("node stage %v; whole run %v", time.Since(nodeStart).Round(100*time.Millisecond), time.Since(start).Round(100*time.Millisecond))
}

// buildHelm builds the helm CLI the chart is installed with, from the
// version test/chart pins (its go.mod's tool), into dir: minutes from an
// empty Go build cache, a second after.
func buildHelm(ctx context.Context, chartModule, dir string) (string, error) {
	t0 := time.Now()
	out := filepath.Join(dir, "helm")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "helm.sh/helm/v4/cmd/helm")
	cmd.Dir = chartModule
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building helm in %s: %v\n%s", chartModule, err, b)
	}
	logf("helm CLI built from %s in %v", chartModule, time.Since(t0).Round(100*time.Millisecond))
	return out, nil
}

// runPattern is this run's -test.run, passed on to the node: `go test
// -run 'TestE2E/DaemonSet$'` runs that scenario alone.
func runPattern() string {
	if f := flag.Lookup("test.run"); f != nil && strings.Contains(f.Value.String(), "/") {
		return f.Value.String()
	}
	return "^TestE2E$"
}

// imageTarball is the gcrcred image under test: $GCRCRED_E2E_IMAGE (make
// e2e sets it), else the repository's dist/gcrcred-image.tar if `make image`
// wrote one.
func imageTarball(repo string) (string, error) {
	p := os.Getenv("GCRCRED_E2E_IMAGE")
	if p == "" {
		p = filepath.Join(repo, "dist", "gcrcred-image.tar")
	}
	p, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("the gcrcred image (GCRCRED_E2E_IMAGE): %v: run `make e2e`, or `make build image` first", err)
	}
	return p, nil
}

// logf prints a progress line at once, with the time since this process
// started: the node stage's lines come from a second process.
func logf(format string, args ...any) {
	fmt.Printf("e2e %6.1fs  %s\n", time.Since(processStart).Seconds(), fmt.Sprintf(format, args...))
}

var processStart = time.Now()

// testContext ends a minute before the test's deadline, so that the node
// still has time to stop and the host to clean up.
func testContext(t *testing.T) (context.Context, context.CancelFunc) {
	if d, ok := t.Deadline(); ok {
		return context.WithDeadline(context.Background(), d.Add(-time.Minute))
	}
	return context.WithCancel(context.Background())
}

// runNode is the runner in the node: cluster up, then the scenarios.
func runNode(t *testing.T) {
	cfg, err := cluster.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	// What the runner starts (kubeadm, kubectl, ctr, systemctl) is found
	// where a node's root finds it.
	os.Setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	cfg.Logf = logf
	// SIGTERM or SIGINT (passed on by the init) ends the scenario; the
	// cleanup still dumps the logs and stops the cluster.
	sigCtx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, cancel := context.WithTimeout(sigCtx, 20*time.Minute)
	defer cancel()
	start := time.Now()
	c, err := cluster.Start(ctx, cfg)
	t.Cleanup(func() {
		if c == nil {
			return
		}
		if t.Failed() {
			c.DumpLogs(os.Stdout)
		}
		stopCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		t0 := time.Now()
		if err := c.Stop(stopCtx); err != nil {
			t.Errorf("stopping the cluster: %v", err)
		}
		logf("cluster stopped in %v", time.Since(t0).Round(100*time.Millisecond))
	})
	if err != nil {
		t.Fatal(err)
	}
	logf("cluster up in %v", time.Since(start).Round(100*time.Millisecond))
	d := newDeployer(ctx, t, c, cfg)
	for _, s := range []struct {
		name string
		run  func(context.Context, *testing.T, *cluster.Cluster, *deployer)
	}{
		{"DaemonSet", scenarioDaemonSet},
		{"PerPodIdentity", scenarioPerPodIdentity},
		{"NodeTrust", scenarioNodeTrust},
	} {
		t0 := time.Now()
		logf("=== scenario %s", s.name)
		ok := t.Run(s.name, func(t *testing.T) { s.run(ctx, t, c, d) })
		logf("=== scenario %s: %s in %v", s.name, map[bool]string{true: "passed", false: "FAILED"}[ok], time.Since(t0).Round(100*time.Millisecond))
		if !ok {
			break // the node may be half set up: the next scenario would only add noise
		}
	}
}

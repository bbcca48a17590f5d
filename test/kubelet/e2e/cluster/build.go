package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Binaries are the programs the node runs, built by Build.
type Binaries struct {
	// K8s holds etcd, kube-apiserver, kube-controller-manager,
	// kube-scheduler, kubeadm, kubectl and kubelet, and the control-plane
	// images kubeadm's static pods name (controlPlaneImages).
	K8s string
	// Version is their Kubernetes version (v1.37.2).
	Version string
	// Tools holds the pause and app programs that become images.
	Tools string
	// Gcrcred is the gcrcred binary under test (`make build`).
	Gcrcred string
	// Helm is the helm CLI that installs charts/gcrcred ("" for none).
	Helm string
}

// k8sPackages are built into Binaries.K8s, named after their last element
// (etcd's main package is renamed from "v3").
var k8sPackages = []string{
	"go.etcd.io/etcd/server/v3",
	"k8s.io/kubernetes/cmd/kube-apiserver",
	"k8s.io/kubernetes/cmd/kube-controller-manager",
	"k8s.io/kubernetes/cmd/kube-scheduler",
	"k8s.io/kubernetes/cmd/kubeadm",
	"k8s.io/kubernetes/cmd/kubectl",
	"k8s.io/kubernetes/cmd/kubelet",
}

var k8sBinaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubeadm", "kubectl", "kubelet", controlPlaneImages}

// BuildOptions says where the module (test/kubelet) and the cache are.
type BuildOptions struct {
	ModuleDir string // the module that pins k8s.io/kubernetes and etcd (its go.mod lists them as tools)
	CacheDir  string // built binaries, kept across runs
	Logf      func(format string, args ...any)
}

// Build builds the cluster's programs from the versions ModuleDir pins,
// static (CGO_ENABLED=0), the Kubernetes ones stamped with their module
// version, and the control-plane images made of them. They go to
// CacheDir/k8s-VERSION-KEY, KEY a hash of the Go version, the platform and
// the module's whole build list, so they are rebuilt only when one of those
// changes. The small tools are rebuilt every time (a second or two from
// Go's build cache).
func Build(ctx context.Context, o BuildOptions) (Binaries, error) {
	var bins Binaries
	version, key, err := buildKey(ctx, o.ModuleDir)
	if err != nil {
		return bins, err
	}
	bins.K8s, bins.Version = filepath.Join(o.CacheDir, "k8s-"+version+"-"+key), version
	if !haveAll(bins.K8s, k8sBinaries) {
		o.Logf("building etcd and Kubernetes %s into %s (from an empty Go build cache: about 6 minutes on 2 cores)", version, bins.K8s)
		start := time.Now()
		tmp := bins.K8s + ".tmp"
		os.RemoveAll(tmp)
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return bins, err
		}
		ldflags := "-s -w -X k8s.io/component-base/version.gitVersion=" + version
		args := append([]string{"build", "-trimpath", "-ldflags", ldflags, "-o", tmp + "/"}, k8sPackages...)
		if err := goCmd(ctx, o.ModuleDir, args...); err != nil {
			return bins, fmt.Errorf("building the cluster's programs: %w", err)
		}
		if err := os.Rename(filepath.Join(tmp, "v3"), filepath.Join(tmp, "etcd")); err != nil {
			// older Go names a major-version package after its parent
			if err2 := os.Rename(filepath.Join(tmp, "server"), filepath.Join(tmp, "etcd")); err2 != nil {
				return bins, fmt.Errorf("naming etcd: %v; %v", err, err2)
			}
		}
		if err := writeControlPlaneImages(ctx, tmp, version); err != nil {
			return bins, err
		}
		os.RemoveAll(bins.K8s)
		if err := os.Rename(tmp, bins.K8s); err != nil {
			return bins, err
		}
		o.Logf("built in %v", time.Since(start).Round(time.Second))
	}
	bins.Tools = filepath.Join(o.CacheDir, "tools")
	if err := os.MkdirAll(bins.Tools, 0o755); err != nil {
		return bins, err
	}
	if err := goCmd(ctx, o.ModuleDir, "build", "-trimpath", "-ldflags", "-s -w", "-o", bins.Tools+"/",
		"./e2e/cmd/pause", "./e2e/cmd/app"); err != nil {
		return bins, fmt.Errorf("building the node's tools: %w", err)
	}
	return bins, nil
}

// writeControlPlaneImages writes, into dir, the images kubeadm's static
// pods name (`kubeadm config images list`): etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler, each the one program built
// here in /usr/local/bin, the command kubeadm's manifests run.
func writeControlPlaneImages(ctx context.Context, dir, version string) error {
	out, err := exec.CommandContext(ctx, filepath.Join(dir, "kubeadm"), "config", "images", "list", "--kubernetes-version", version).Output()
	if err != nil {
		return fmt.Errorf("kubeadm config images list: %w", err)
	}
	images := map[string]imageSpec{}
	for _, ref := range strings.Fields(string(out)) {
		prog := ref[strings.LastIndexByte(ref, '/')+1 : strings.LastIndexByte(ref, ':')]
		if prog == "etcd" || strings.HasPrefix(prog, "kube-") && prog != "kube-proxy" {
			images[ref] = imageSpec{binary: filepath.Join(dir, prog), path: "/usr/local/bin/" + prog}
		}
	}
	if len(images) != 4 {
		return fmt.Errorf("kubeadm config images list: %q: want etcd and three control-plane images", out)
	}
	return writeImageTarball(filepath.Join(dir, controlPlaneImages), images)
}

// buildKey returns k8s.io/kubernetes's version and a hash of what decides
// the binaries' content.
func buildKey(ctx context.Context, moduleDir string) (version, key string, err error) {
	out, err := goOutput(ctx, moduleDir, "list", "-m", "-f", "{{.Path}} {{.Version}}{{with .Replace}} => {{.Path}} {{.Version}}{{end}}", "all")
	if err != nil {
		return "", "", err
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "k8s.io/kubernetes" {
			version = f[1]
		}
	}
	if version == "" {
		return "", "", fmt.Errorf("%s does not require k8s.io/kubernetes", moduleDir)
	}
	goVersion, err := goOutput(ctx, moduleDir, "env", "GOVERSION")
	if err != nil {
		return "", "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s/%s\nCGO_ENABLED=0 -trimpath -s -w\n%v\n%s", goVersion, runtime.GOOS, runtime.GOARCH, k8sPackages, out)
	return version, hex.EncodeToString(h.Sum(nil))[:12], nil
}

func haveAll(dir string, names []string) bool {
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); errors.Is(err, fs.ErrNotExist) || err != nil {
			return false
		}
	}
	return true
}

func goCommand(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	return cmd
}

func goCmd(ctx context.Context, dir string, args ...string) error {
	out, err := goCommand(ctx, dir, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func goOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := goCommand(ctx, dir, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

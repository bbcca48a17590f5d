package minikube

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"sigs.k8s.io/yaml"

	"github.com/gcrcred/gcrcred/helper"
	"github.com/gcrcred/gcrcred/internal/kubeletapi"
	"github.com/gcrcred/gcrcred/internal/registries"
)

// nodeSetup is the part of the installer that runs on a node, as root, from
// the node's own gcrcred binary (`gcrcred minikube node-setup`): at install,
// and from gcrcred's kubelet drop-in each time the kubelet starts. It does
// what file sync cannot: hand the credentials to the docker group (file
// sync copies them as root), make the token caches, and point each user's
// Docker config at gcrcred (VM drivers lose /root and /home on reboot).
type nodeSetup struct {
	root    string // "/" on a node; a directory in tests
	out     io.Writer
	changes int
}

func (s *nodeSetup) p(path string) string { return filepath.Join(s.root, path) }

func (s *nodeSetup) note(format string, args ...any) {
	s.changes++
	fmt.Fprintf(s.out, "gcrcred: "+format+"\n", args...)
}

// setup makes the node-local settings; boot means "run by the kubelet's
// ExecStartPre", where it acts only if this node's kubelet uses gcrcred
// (file sync hands our files to every profile under the same MINIKUBE_HOME).
func (s *nodeSetup) setup(boot bool) error {
	if boot && !s.kubeletUsesUs() {
		fmt.Fprintln(s.out, "gcrcred: this node's kubelet does not use gcrcred; nothing to do")
		return nil
	}
	root, ok := lookupUser(s.p("/etc/passwd"), "root")
	if !ok {
		root = nodeUser{name: "root", home: "/root"}
	}
	docker, hasDocker := lookupUser(s.p("/etc/passwd"), DockerUser)
	errs := []error{s.credentialsAccess(), s.cacheDirs(docker, hasDocker)}

	st := s.loadDockerStates()
	hosts := s.dockerHosts()
	errs = append(errs, s.addDockerHelpers(st, root, hosts))
	if hasDocker {
		errs = append(errs, s.addDockerHelpers(st, docker, hosts))
	}
	errs = append(errs, s.saveDockerStates(st))
	if s.changes == 0 {
		fmt.Fprintln(s.out, "unchanged")
	}
	return errors.Join(errs...)
}

// cleanup undoes setup: Docker configs back as they were, cached tokens gone.
func (s *nodeSetup) cleanup() error {
	var errs []error
	for file, state := range s.loadDockerStates() {
		errs = append(errs, s.restoreDockerConfig(file, state))
	}
	if _, err := os.Stat(s.p(dockerStateFile)); errors.Is(err, fs.ErrNotExist) {
		// No record (lost with a VM's RAM root): take gcrcred's entries out by value.
		for _, name := range []string{"root", DockerUser} {
			if u, ok := lookupUser(s.p("/etc/passwd"), name); ok {
				file := filepath.Join(u.home, ".docker", "config.json")
				if _, err := os.Lstat(s.p(file)); err == nil {
					errs = append(errs, s.removeDockerHelpers(file, nil, u.uid, u.gid))
				}
			}
		}
	}
	errs = append(errs, os.RemoveAll(s.p(NodeCacheRoot)), os.RemoveAll(s.p(dockerStateFile)))
	return errors.Join(errs...)
}

// kubeletUsesUs reads minikube's drop-in for our flags.
func (s *nodeSetup) kubeletUsesUs() bool {
	b, err := os.ReadFile(s.p(KubeletDropIn))
	if err != nil {
		return false
	}
	es, ok := effectiveExecStart(string(b))
	return ok && hasAnyOurFlag(splitCommand(es.value))
}

// credentialsAccess gives the credentials to root and the docker group.
func (s *nodeSetup) credentialsAccess() error {
	fi, err := os.Stat(s.p(NodeCredentials))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	mode, gid := fs.FileMode(CredentialsModeNoGroup), 0
	if g, ok := lookupGroup(s.p("/etc/group"), CredentialsGroup); ok {
		mode, gid = CredentialsMode, g
	}
	return s.ensureOwnerMode(NodeCredentials, fi, mode, 0, gid)
}

// cacheDirs makes a private token cache for root (the kubelet) and for the
// docker user under NodeCacheRoot; the PATH wrappers point users there.
func (s *nodeSetup) cacheDirs(docker nodeUser, hasDocker bool) error {
	dirs := []struct {
		path     string
		mode     fs.FileMode
		uid, gid int
	}{
		{NodeStateDir, 0o755, 0, 0},
		{NodeCacheRoot, 0o755, 0, 0},
		{NodeKubeletCache, 0o700, 0, 0},
	}
	if hasDocker && docker.uid != 0 {
		dirs = append(dirs, struct {
			path     string
			mode     fs.FileMode
			uid, gid int
		}{NodeCacheRoot + "/" + strconv.Itoa(docker.uid), 0o700, docker.uid, docker.gid})
	}
	for _, d := range dirs {
		fi, err := os.Stat(s.p(d.path))
		if errors.Is(err, fs.ErrNotExist) {
			if err := os.Mkdir(s.p(d.path), d.mode); err != nil {
				return err
			}
			if fi, err = os.Stat(s.p(d.path)); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if err := s.ensureOwnerMode(d.path, fi, d.mode, d.uid, d.gid); err != nil {
			return err
		}
	}
	return nil
}

func (s *nodeSetup) ensureOwnerMode(path string, fi fs.FileInfo, mode fs.FileMode, uid, gid int) error {
	u, g := ownerIDs(fi)
	if fi.Mode().Perm() == mode && u == uid && g == gid {
		return nil
	}
	if err := os.Chown(s.p(path), uid, gid); err != nil {
		return err
	}
	if err := os.Chmod(s.p(path), mode); err != nil {
		return err
	}
	s.note("%s is now %o %d:%d", path, mode, uid, gid)
	return nil
}

// dockerHosts are the hosts Docker is pointed at: configure-docker's
// defaults plus the plain hosts (not patterns) of the provider config's
// GCRCRED_REGISTRIES, so extra registries given at install reach Docker too.
func (s *nodeSetup) dockerHosts() []string {
	hosts := append([]string{}, helper.DefaultDockerRegistries...)
	b, err := os.ReadFile(s.p(NodeProviderConfig))
	if err != nil {
		return hosts
	}
	var cfg kubeletapi.CredentialProviderConfig
	if yaml.Unmarshal(b, &cfg) != nil {
		return hosts
	}
	for _, p := range cfg.Providers {
		for _, e := range p.Env {
			if e.Name != registries.EnvExtra {
				continue
			}
			extra, _ := registries.ParseList(e.Value)
			for _, h := range extra {
				if !registries.IsPattern(h) && !contains(hosts, h) {
					hosts = append(hosts, h)
				}
			}
		}
	}
	return hosts
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

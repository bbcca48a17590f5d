package engine

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/gcrcred/gcrcred/internal/dockerconfig"
	"github.com/gcrcred/gcrcred/internal/kubeletunit"
	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/internal/providerconfig"
	"github.com/gcrcred/gcrcred/node/internal/dockercfg"
)

// Boot is `gcrcred node boot`, the ExecStartPre of a minikube node's
// kubelet: what minikube's file sync cannot carry across a restart. File
// sync copies gcrcred's files as root (the credentials lose the docker
// group), and a VM node's root is in RAM (/root, /home and /var/lib/gcrcred
// start empty). It acts only where the kubelet uses gcrcred: file sync hands
// the files to every profile under the same MINIKUBE_HOME.
func Boot(r *noderoot.Root, o Options, out io.Writer) error {
	n := &Notes{out: out}
	if !isRoot() {
		return errors.New("boot runs as root, as the kubelet's ExecStartPre")
	}
	c, err := r.ReadTrusted(nodelayout.MinikubeDropIn)
	if err != nil || !hasAnyOurFlag(kubeletunit.ExecArgs(c)) {
		fmt.Fprintln(out, "this node's kubelet does not use gcrcred; nothing to do")
		return nil
	}
	errs := []error{credentialsAccess(r, o.DockerUsers, n), cacheDirs(r, o.DockerUsers, n)}
	config, _ := r.ReadText(nodelayout.ProviderConfig)
	errs = append(errs, dockercfg.Setup(r, o.DockerUsers, providerconfig.DockerHosts([]byte(config), dockerconfig.DefaultHosts), n))
	if n.changed == 0 {
		fmt.Fprintln(out, "unchanged")
	}
	return errors.Join(errs...)
}

// hasAnyOurFlag reports whether a command line has one of gcrcred's flags.
func hasAnyOurFlag(args []string) bool {
	return kubeletunit.HasAnyFlag(args, nodelayout.KubeletFlags())
}

// credentialsAccess gives the credentials gcrcred installed the owner and
// mode credentialsAccessFor says.
func credentialsAccess(r *noderoot.Root, dockerUsers []string, n *Notes) error {
	d, name, err := r.ParentOf(nodelayout.Credentials)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	fi, err := d.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsRegular() {
		return fmt.Errorf("%s is not a regular file: reinstall gcrcred", nodelayout.Credentials)
	}
	mode, gid := credentialsAccessFor(r, dockerUsers)
	if fi.Mode.Perm() == mode && fi.UID == 0 && fi.GID == gid {
		return nil
	}
	if err := d.SetOwnerMode(name, 0, gid, mode); err != nil {
		return err
	}
	n.Change("mode      %s  %04o %s", nodelayout.Credentials, mode, r.OwnerName(0, gid))
	return nil
}

// cacheDirs makes the token caches that are missing: root's (the kubelet's)
// and one for each Docker user, under gcrcred's state directory.
func cacheDirs(r *noderoot.Root, users []string, n *Notes) error {
	for _, d := range cacheDirSpecs(r, users) {
		if r.Exists(d.path) {
			continue
		}
		if err := r.MakeDir(d.path, d.mode, d.uid, d.gid); err != nil {
			return err
		}
		n.Change("new dir   %s  %04o %s", d.path, d.mode, r.OwnerName(d.uid, d.gid))
	}
	return nil
}

// cacheDirSpecs are the token caches: root's (the kubelet's) and one for
// each Docker user besides root, with the directories above them.
func cacheDirSpecs(r *noderoot.Root, users []string) []dirSpec {
	dirs := []dirSpec{{nodelayout.StateDir, 0o755, 0, 0}, {nodelayout.CacheRoot, 0o755, 0, 0}, {nodelayout.KubeletCache, 0o700, 0, 0}}
	for _, name := range users {
		if u, ok := r.LookupUser(name); ok && u.UID != 0 {
			dirs = append(dirs, dirSpec{fmt.Sprintf("%s/%d", nodelayout.CacheRoot, u.UID), 0o700, u.UID, u.GID})
		}
	}
	return dirs
}

// credentialsAccessFor is the mode and group of the node's credentials:
// root's alone (0600), unless a user other than root has Docker pointed at
// gcrcred (--docker-users, as on minikube), whose docker-credential-gcrcred
// must read them: then 0640 for the docker group, where the node has one.
func credentialsAccessFor(r *noderoot.Root, dockerUsers []string) (fs.FileMode, int) {
	if nodelayout.CredentialsForGroup(dockerUsers) {
		if gid, ok := r.LookupGroup(nodelayout.CredentialsGroup); ok {
			return nodelayout.CredentialsMode, gid
		}
	}
	return nodelayout.CredentialsModeNoGroup, 0
}

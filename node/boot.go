package node

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"

	"github.com/gcrcred/gcrcred/internal/dockerconfig"
	"github.com/gcrcred/gcrcred/internal/noderoot"
)

// boot is `gcrcred node boot`, the ExecStartPre of a minikube node's
// kubelet: what minikube's file sync cannot carry across a restart. File
// sync copies gcrcred's files as root (the credentials lose the docker
// group), and a VM node's root is in RAM (/root, /home and /var/lib/gcrcred
// start empty). It acts only where the kubelet uses gcrcred: file sync hands
// the files to every profile under the same MINIKUBE_HOME.
func boot(o options, out io.Writer) error {
	n := &notes{out: out}
	if !isRoot() {
		return errors.New("boot runs as root, as the kubelet's ExecStartPre")
	}
	r, err := openRoot(o.root)
	if err != nil {
		return err
	}
	defer r.Close()
	c, err := readTrusted(r, MinikubeDropIn)
	es, ok := effectiveExecStart(c)
	if err != nil || !ok || !hasAnyFlag(splitCommand(es.value), KubeletFlags()) {
		fmt.Fprintln(out, "this node's kubelet does not use gcrcred; nothing to do")
		return nil
	}
	errs := []error{credentialsAccess(r, o.dockerUsers, n), cacheDirs(r, o.dockerUsers, n)}
	config, _ := readNodeFile(r, ProviderConfig)
	errs = append(errs, setupDocker(r, o.dockerUsers, dockerHostsOf([]byte(config), dockerconfig.DefaultHosts), n))
	if n.changed == 0 {
		fmt.Fprintln(out, "unchanged")
	}
	return errors.Join(errs...)
}

// credentialsAccess gives the credentials gcrcred installed the owner and
// mode credentialsAccessFor says.
func credentialsAccess(r *noderoot.Root, dockerUsers []string, n *notes) error {
	d, name, err := parentOf(r, Credentials)
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
		return fmt.Errorf("%s is not a regular file: reinstall gcrcred", Credentials)
	}
	mode, gid := credentialsAccessFor(r, dockerUsers)
	if fi.Mode.Perm() == mode && fi.UID == 0 && fi.GID == gid {
		return nil
	}
	if err := d.SetOwnerMode(name, 0, gid, mode); err != nil {
		return err
	}
	n.change("mode      %s  %04o %s", Credentials, mode, ownerName(r, 0, gid))
	return nil
}

// cacheDirs makes the token caches that are missing: root's (the kubelet's)
// and one for each Docker user, under gcrcred's state directory.
func cacheDirs(r *noderoot.Root, users []string, n *notes) error {
	for _, d := range cacheDirSpecs(r, users) {
		if r.Exists(d.path) {
			continue
		}
		if err := makeDir(r, d.path, d.mode, d.uid, d.gid); err != nil {
			return err
		}
		n.change("new dir   %s  %04o %s", d.path, d.mode, ownerName(r, d.uid, d.gid))
	}
	return nil
}

// cacheDirSpecs are the token caches: root's (the kubelet's) and one for
// each Docker user besides root, with the directories above them.
func cacheDirSpecs(r *noderoot.Root, users []string) []dirSpec {
	dirs := []dirSpec{{StateDir, 0o755, 0, 0}, {CacheRoot, 0o755, 0, 0}, {KubeletCache, 0o700, 0, 0}}
	for _, name := range users {
		if u, ok := lookupUser(r, name); ok && u.uid != 0 {
			dirs = append(dirs, dirSpec{fmt.Sprintf("%s/%d", CacheRoot, u.uid), 0o700, u.uid, u.gid})
		}
	}
	return dirs
}

// credentialsAccessFor is the mode and group of the node's credentials:
// root's alone (0600), unless a user other than root has Docker pointed at
// gcrcred (--docker-users, as on minikube), whose docker-credential-gcrcred
// must read them: then 0640 for the docker group, where the node has one.
func credentialsAccessFor(r *noderoot.Root, dockerUsers []string) (fs.FileMode, int) {
	if usersBesidesRoot(dockerUsers) {
		if gid, ok := lookupGroup(r, CredentialsGroup); ok {
			return CredentialsMode, gid
		}
	}
	return CredentialsModeNoGroup, 0
}

func usersBesidesRoot(users []string) bool {
	return slices.ContainsFunc(users, func(u string) bool { return u != "root" })
}

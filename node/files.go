package node

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/gcrcred/gcrcred/internal/cli"
)

// item is one file install puts on a node.
type item struct {
	path     string
	mode     fs.FileMode
	uid, gid int
	content  []byte
	restart  bool // the kubelet reads it only at start: a change restarts it
	unit     bool // a systemd unit file: a change needs a daemon-reload
	role     string
	// edited: a file of the node's that gcrcred changes rather than owns
	// (flags, a shared provider config): it keeps its mode and owner.
	edited bool
	// remove: an earlier install wrote it and this one does not want it:
	// it gets back its state from before (from the record).
	remove bool
}

// Roles of the files in the install record; uninstall undoes "flags" and
// "config" first (and restarts the kubelet), then the rest.
const (
	roleFile   = "file"
	roleFlags  = "flags"
	roleConfig = "config"
	roleBoot   = "boot"
)

// wrapper is the sh script on PATH that runs the binary with a per-user
// token cache under CacheRoot (uninstall removes it with every token),
// falling back to the binary's default where install made none.
func wrapper(binary string) []byte {
	return []byte(`#!/bin/sh
# Installed by "gcrcred node install"; removed by "gcrcred node uninstall".
if [ -z "${GCRCRED_CACHE_DIR:-}" ] && [ -d "` + CacheRoot + `/$(id -u)" ]; then
	GCRCRED_CACHE_DIR="` + CacheRoot + `/$(id -u)"
	export GCRCRED_CACHE_DIR
fi
exec ` + cli.ShellQuote(binary) + ` "$@"
`)
}

// bootDropIn makes every kubelet start run `gcrcred node boot` first ("-":
// a failure there never keeps the kubelet down).
func bootDropIn(dockerUsers []string) []byte {
	cmd := Binary + " node boot"
	if len(dockerUsers) > 0 {
		cmd += " --docker-users " + strings.Join(dockerUsers, ",")
	}
	return []byte(`# Installed by "gcrcred node install" on a minikube node: each time the kubelet
# starts, give the credentials to the docker group and point Docker at gcrcred
# again (minikube's file sync restores files as root, and VM drivers lose /root
# and /home on reboot).
[Service]
ExecStartPre=-` + cmd + `
`)
}

// sha256Files is the hidden `gcrcred node sha256 FILE...`: what
// sha256sum prints, for the minikube installer to compare a node's files
// with its own without busybox's slow sha256sum; a missing file is an
// error after the others are printed.
func sha256Files(o options, files []string, out io.Writer) error {
	r, err := openRoot(o.root)
	if err != nil {
		return err
	}
	defer r.Close()
	var missing []string
	for _, p := range files {
		f, _, err := r.OpenFile(p)
		if err != nil {
			missing = append(missing, p)
			continue
		}
		h := sha256.New()
		_, err = io.Copy(h, io.LimitReader(f, maxBinary))
		f.Close()
		if err != nil {
			missing = append(missing, p)
			continue
		}
		fmt.Fprintf(out, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), p)
	}
	if len(missing) > 0 {
		return fmt.Errorf("cannot read %s", strings.Join(missing, ", "))
	}
	return nil
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

package hostinstall

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/internal/noderoot"
	"github.com/gcrcred/gcrcred/internal/podinstall"
	"github.com/gcrcred/gcrcred/internal/providerconfig"
	"github.com/gcrcred/gcrcred/internal/smallfile"
)

// What an installer on a host needs to know of `node install`: the files
// every node of its cluster gets, to keep them (minikube's file sync) or
// show them (--dry-run), and the arguments that install them from a
// staging directory on the node.

// HostOptions are what a host-side installer gives every node.
type HostOptions struct {
	Flavour string // nodelayout.FlavourMinikube or FlavourKind
	Binary  string // the node's gcrcred, a host file ("" = none found)
	// BinaryLater says which binary a node will get while the nodes are
	// not known yet (a plan): shown instead of the binary.
	BinaryLater string
	Credentials string // a host file ("" = none)
	Registries  []string
	Pod         podinstall.PodIdentity // its File is a host file
	DockerUsers []string
	Settle      time.Duration // --kubelet-settle
	DryRun      bool
}

// NodeFile is a file `node install` puts on a node.
type NodeFile struct {
	Path string
	Mode fs.FileMode // root's copy, as file sync keeps it
	// NodeMode and Owner are what the node ends up with (the credentials
	// go to the docker group on a minikube node); 0 and "": Mode, root:root.
	NodeMode fs.FileMode
	Owner    string
	Content  []byte // generated, or
	Source   string // a host file: the binary, the credentials, the workload identity configuration
	Later    string // for a plan: what the file will be, once it can be known
}

// Shown is the file's mode and owner on the node.
func (f NodeFile) Shown() (fs.FileMode, string) {
	if f.NodeMode != 0 {
		return f.NodeMode, f.Owner
	}
	return f.Mode, "root:root"
}

// Read is the file's content: generated, or the host file's.
func (f NodeFile) Read() ([]byte, error) {
	if f.Content != nil || f.Source == "" {
		return f.Content, nil
	}
	limit := int64(noderoot.MaxText)
	if f.Mode&0o111 != 0 {
		limit = noderoot.MaxBinary
	}
	return smallfile.Read(f.Source, limit, "file")
}

// PlanLine is the file as a plan shows it: path, mode, owner, size and
// sha256, and where it comes from; or what is missing.
func (f NodeFile) PlanLine() string {
	mode, owner := f.Shown()
	b, err := f.Read()
	switch {
	case b == nil && err == nil && f.Later != "":
		return fmt.Sprintf("%s  %04o %s  %s", f.Path, mode, owner, f.Later)
	case b == nil && err == nil:
		return fmt.Sprintf("%s  %04o %s  MISSING, see below", f.Path, mode, owner)
	case err != nil:
		return fmt.Sprintf("%s  %04o %s  unreadable: %v", f.Path, mode, owner, err)
	}
	from := ""
	if f.Source != "" {
		from = "  from " + f.Source
	}
	return fmt.Sprintf("%s  %04o %s  %d bytes  sha256:%s%s", f.Path, mode, owner, len(b), sha(b)[:12], from)
}

// Files are the files `node install` puts on every node, byte for byte
// what it writes (the provider config is gcrcred's own on minikube and
// kind nodes), so that minikube's file sync gives a restarted or added node
// the same.
func (o HostOptions) Files() ([]NodeFile, error) {
	config, err := providerconfig.Render(providerconfig.ForNode("", o.Registries, o.Pod.NodePod(nil)))
	if err != nil {
		return nil, fmt.Errorf("rendering the kubelet credential provider config: %w", err)
	}
	return hostFiles(o, config), nil
}

// PlanLines are Files as a plan shows them, one line each.
func (o HostOptions) PlanLines() ([]string, error) {
	files, err := o.Files()
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, f := range files {
		lines = append(lines, f.PlanLine())
	}
	return lines, nil
}

// HostPaths are every file Files may list for the flavour (the optional
// credentials and workload identity configuration too), without content.
func HostPaths(flavour string) []NodeFile {
	return hostFiles(HostOptions{Flavour: flavour, Credentials: "-", Pod: podinstall.PodIdentity{File: "-"}}, nil)
}

func hostFiles(o HostOptions, config []byte) []NodeFile {
	files := []NodeFile{
		{Path: nodelayout.Binary, Mode: 0o755, Source: o.Binary, Later: o.BinaryLater},
		{Path: nodelayout.Command, Mode: 0o755, Content: nodelayout.Wrapper(nodelayout.Binary)},
		{Path: nodelayout.DockerHelper, Mode: 0o755, Content: nodelayout.Wrapper(nodelayout.Binary)},
	}
	if o.Credentials != "" || !o.Pod.On() {
		creds := NodeFile{Path: nodelayout.Credentials, Mode: nodelayout.CredentialsModeNoGroup, Source: o.Credentials}
		if nodelayout.CredentialsForGroup(o.DockerUsers) {
			creds.NodeMode, creds.Owner = nodelayout.CredentialsMode, "root:"+nodelayout.CredentialsGroup
		}
		files = append(files, creds)
	}
	if o.Pod.On() {
		files = append(files, NodeFile{Path: nodelayout.WorkloadIdentity, Mode: nodelayout.WorkloadIdentityMode, Source: o.Pod.File})
	}
	files = append(files, NodeFile{Path: nodelayout.ProviderConfig, Mode: 0o644, Content: config})
	if o.Flavour == nodelayout.FlavourMinikube {
		files = append(files, NodeFile{Path: nodelayout.BootDropIn, Mode: 0o644, Content: nodelayout.BootDropInContent(o.DockerUsers)})
	}
	return files
}

// StagedFile is a host file `node install` reads: its name in a staging
// directory, and where install puts it on the node.
type StagedFile struct{ Name, Host, Node string }

// Staged are the host files `node install` reads (the binary apart).
func (o HostOptions) Staged() []StagedFile {
	var files []StagedFile
	if o.Credentials != "" {
		files = append(files, StagedFile{stagedCredentials, o.Credentials, nodelayout.Credentials})
	}
	if o.Pod.On() {
		files = append(files, StagedFile{stagedWorkloadIdentity, o.Pod.File, nodelayout.WorkloadIdentity})
	}
	return files
}

const (
	stagedCredentials      = "credentials.json"
	stagedWorkloadIdentity = "workload-identity.json"
)

// InstallArgs are `gcrcred node`'s arguments that install binary and the
// Staged files, each at at[name] on the node: its staged copy, or where
// the node has the same already.
func (o HostOptions) InstallArgs(binary string, at map[string]string) []string {
	args := []string{"install", "--binary", binary,
		"--registries", strings.Join(o.Registries, ","),
		"--kubelet-settle", o.Settle.String()}
	// Without --credentials, install keeps the node's: the same already.
	if c := at[stagedCredentials]; o.Credentials != "" && c != nodelayout.Credentials {
		args = append(args, "--credentials", c)
	}
	if len(o.DockerUsers) > 0 {
		args = append(args, "--docker-users", strings.Join(o.DockerUsers, ","))
	}
	return append(args, o.Pod.Args(at[stagedWorkloadIdentity])...)
}

// UninstallArgs are `gcrcred node`'s arguments that undo install.
func (o HostOptions) UninstallArgs() []string {
	args := []string{"uninstall", "--kubelet-settle", o.Settle.String()}
	if o.DryRun {
		args = append(args, "--dry-run")
	}
	return args
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

package minikube

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// fileState is what a node has at one of our paths.
type fileState struct {
	sum   string // sha256 of the content
	mode  string // octal permission bits, as `stat -c %a` prints them
	owner string // user:group
}

// nodeProbe is what one read-only script learns about a node's files.
type nodeProbe struct {
	hasGroup bool                 // the node has the docker group
	files    map[string]fileState // by node path; absent files are missing
}

// probeFiles reads the state of the given node paths in one ssh call.
func probeFiles(ctx context.Context, n Node, paths []string) (*nodeProbe, error) {
	var quoted []string
	for _, p := range paths {
		quoted = append(quoted, shQuote(p))
	}
	script := `grep -q '^` + CredentialsGroup + `:' /etc/group && echo group=yes
for f in ` + strings.Join(quoted, " ") + `; do
	if [ -f "$f" ]; then
		echo "file=$f $(sha256sum < "$f" | cut -d' ' -f1) $(stat -c '%a %U:%G' "$f")"
	fi
done
true`
	out, err := n.Run(ctx, script)
	if err != nil {
		return nil, err
	}
	p := &nodeProbe{files: map[string]fileState{}}
	for _, l := range lines(out) {
		switch {
		case l == "group=yes":
			p.hasGroup = true
		case strings.HasPrefix(l, "file="):
			f := strings.Fields(strings.TrimPrefix(l, "file="))
			if len(f) == 4 {
				p.files[f[0]] = fileState{sum: f[1], mode: f[2], owner: f[3]}
			}
		}
	}
	return p, nil
}

func filePaths(files []nodeFile) []string {
	var ps []string
	for _, f := range files {
		ps = append(ps, f.path)
	}
	return ps
}

// installFiles puts files on a node where they differ from what is there,
// and reports whether anything changed. Binaries and secrets travel by
// `minikube cp` into the private staging directory; small text travels in
// the ssh command. Each file is chmod'ed and chown'ed in staging, then
// renamed into place, so no path ever holds a half-written file or a
// secret with a loose mode, and a running binary is replaced, not rewritten.
func installFiles(ctx context.Context, n Node, files []nodeFile, tmpDir string) (bool, error) {
	probe, err := probeFiles(ctx, n, filePaths(files))
	if err != nil {
		return false, fmt.Errorf("reading the node's files: %w", err)
	}
	var copyFiles, fixFiles []nodeFile
	for _, f := range files {
		sum, err := f.sha256()
		if err != nil {
			return false, err
		}
		mode, owner := f.nodeMode(probe.hasGroup)
		have, ok := probe.files[f.path]
		switch {
		case !ok || have.sum != sum:
			copyFiles = append(copyFiles, f)
		case have.mode != fmt.Sprintf("%o", mode) || have.owner != owner:
			fixFiles = append(fixFiles, f)
		}
	}
	if len(copyFiles) == 0 && len(fixFiles) == 0 {
		return false, nil
	}

	if _, err := n.Run(ctx, prepareScript()); err != nil {
		return false, fmt.Errorf("preparing directories: %w", err)
	}
	var install strings.Builder
	install.WriteString("set -e\numask 077\n")
	for i, f := range copyFiles {
		staged := fmt.Sprintf("%s/f%d", NodeStaging, i)
		if f.isText() {
			fmt.Fprintf(&install, "printf '%%s' %s > %s\n", shQuote(string(f.content)), staged)
		} else {
			src := f.hostPath
			if src == "" { // generated content too big for a command line
				if src, err = writeTemp(tmpDir, f.content); err != nil {
					return false, err
				}
			}
			if err := n.CopyFile(ctx, src, staged); err != nil {
				return false, fmt.Errorf("copying %s to %s: %w", path.Base(f.path), f.path, err)
			}
		}
		mode, owner := f.nodeMode(probe.hasGroup)
		fmt.Fprintf(&install, "chown %s %s\nchmod %o %s\nmv -f %s %s\n", owner, staged, mode, staged, staged, shQuote(f.path))
	}
	for _, f := range fixFiles {
		mode, owner := f.nodeMode(probe.hasGroup)
		fmt.Fprintf(&install, "chown %s %s\nchmod %o %s\n", owner, shQuote(f.path), mode, shQuote(f.path))
	}
	install.WriteString("rm -rf " + NodeStaging + "\n")
	if _, err := n.Run(ctx, install.String()); err != nil {
		return false, fmt.Errorf("moving files into place: %w", err)
	}
	return true, nil
}

// prepareScript notes which shared directories are missing (once: a rerun
// after a failure must not forget what the first run created), creates the
// directories, and makes an empty root-only staging directory.
func prepareScript() string {
	var dirs []string
	seen := map[string]bool{}
	for _, d := range append(append([]string{}, maybeCreatedDirs...), NodeConfigDir, NodeBinDir, path.Dir(NodeCommand), KubeletDropInDir, NodeStateDir) {
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	return `set -e
umask 022
if [ ! -f ` + NodeCreatedDir + ` ]; then
	mkdir -p ` + NodeStateDir + `
	: > ` + NodeCreatedDir + `.new
	for d in ` + strings.Join(maybeCreatedDirs, " ") + `; do
		[ -d "$d" ] || echo "$d" >> ` + NodeCreatedDir + `.new
	done
	mv -f ` + NodeCreatedDir + `.new ` + NodeCreatedDir + `
fi
mkdir -p ` + strings.Join(dirs, " ") + `
rm -rf ` + NodeStaging + `
mkdir -m 0700 ` + NodeStaging + `
chown root:root ` + NodeStaging
}

// removeFilesScript removes every file and directory install made, the
// shared directories only if install created them and they are empty.
func removeFilesScript() string {
	return `created=$(cat ` + NodeCreatedDir + ` 2>/dev/null || true)
rm -f ` + NodeCommand + ` ` + NodeDockerHelper + ` ` + NodeBootDropIn + `
rm -rf ` + strings.Join(ownDirs, " ") + `
reversed=
for d in $created; do reversed="$d $reversed"; done
for d in $reversed; do rmdir "$d" 2>/dev/null || true; done
true`
}

func writeTemp(dir string, b []byte) (string, error) {
	f, err := os.CreateTemp(dir, "gcrcred-file-*")
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, err = f.Write(b)
	return filepath.Clean(f.Name()), err
}

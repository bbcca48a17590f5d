package minikube

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// nodeUser is a line of a node's /etc/passwd.
type nodeUser struct {
	name     string
	uid, gid int
	home     string
}

// lookupUser reads passwdPath itself: the binary is static and a Buildroot
// node has no NSS to ask.
func lookupUser(passwdPath, name string) (nodeUser, bool) {
	for _, f := range colonFile(passwdPath) {
		if len(f) >= 6 && f[0] == name {
			uid, err1 := strconv.Atoi(f[2])
			gid, err2 := strconv.Atoi(f[3])
			if err1 == nil && err2 == nil {
				return nodeUser{name: name, uid: uid, gid: gid, home: f[5]}, true
			}
		}
	}
	return nodeUser{}, false
}

// lookupGroup returns the gid of a group in groupPath.
func lookupGroup(groupPath, name string) (int, bool) {
	for _, f := range colonFile(groupPath) {
		if len(f) >= 3 && f[0] == name {
			if gid, err := strconv.Atoi(f[2]); err == nil {
				return gid, true
			}
		}
	}
	return 0, false
}

func colonFile(path string) [][]string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, strings.Split(l, ":"))
		}
	}
	return out
}

package node

import (
	"strconv"
	"strings"

	"github.com/gcrcred/gcrcred/internal/noderoot"
)

// user is a line of the node's /etc/passwd, read directly: the binary is
// static and a Buildroot node has no NSS to ask, and under --root the
// node's users are not this machine's.
type user struct {
	name     string
	uid, gid int
	home     string
}

func lookupUser(r *noderoot.Root, name string) (user, bool) {
	for _, f := range colonFile(r, "/etc/passwd") {
		if len(f) >= 6 && f[0] == name {
			uid, err1 := strconv.Atoi(f[2])
			gid, err2 := strconv.Atoi(f[3])
			if err1 == nil && err2 == nil {
				return user{name: name, uid: uid, gid: gid, home: f[5]}, true
			}
		}
	}
	return user{}, false
}

// lookupGroup returns a group's gid.
func lookupGroup(r *noderoot.Root, name string) (int, bool) {
	for _, f := range colonFile(r, "/etc/group") {
		if len(f) >= 3 && f[0] == name {
			if gid, err := strconv.Atoi(f[2]); err == nil {
				return gid, true
			}
		}
	}
	return 0, false
}

// ownerName is "user:group" for ids, by the node's names where it has them.
func ownerName(r *noderoot.Root, uid, gid int) string {
	u, g := strconv.Itoa(uid), strconv.Itoa(gid)
	for _, f := range colonFile(r, "/etc/passwd") {
		if len(f) >= 3 && f[2] == u {
			u = f[0]
			break
		}
	}
	for _, f := range colonFile(r, "/etc/group") {
		if len(f) >= 3 && f[2] == g {
			g = f[0]
			break
		}
	}
	return u + ":" + g
}

func colonFile(r *noderoot.Root, p string) [][]string {
	c, err := readNodeFile(r, p)
	if err != nil {
		return nil
	}
	var out [][]string
	for _, l := range strings.Split(c, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, strings.Split(l, ":"))
		}
	}
	return out
}

package noderoot

import (
	"strconv"
	"strings"
)

// User is a line of the node's /etc/passwd, read directly: the binary is
// static and a Buildroot node has no NSS to ask, and under a root that is
// not this machine's the node's users are not this machine's.
type User struct {
	Name     string
	UID, GID int
	Home     string
}

// LookupUser finds a user of the node by name.
func (r *Root) LookupUser(name string) (User, bool) {
	for _, f := range r.colonFile("/etc/passwd") {
		if len(f) >= 6 && f[0] == name {
			uid, err1 := strconv.Atoi(f[2])
			gid, err2 := strconv.Atoi(f[3])
			if err1 == nil && err2 == nil {
				return User{Name: name, UID: uid, GID: gid, Home: f[5]}, true
			}
		}
	}
	return User{}, false
}

// LookupGroup returns a group's gid.
func (r *Root) LookupGroup(name string) (int, bool) {
	for _, f := range r.colonFile("/etc/group") {
		if len(f) >= 3 && f[0] == name {
			if gid, err := strconv.Atoi(f[2]); err == nil {
				return gid, true
			}
		}
	}
	return 0, false
}

// OwnerName is "user:group" for ids, by the node's names where it has them.
func (r *Root) OwnerName(uid, gid int) string {
	u, g := strconv.Itoa(uid), strconv.Itoa(gid)
	for _, f := range r.colonFile("/etc/passwd") {
		if len(f) >= 3 && f[2] == u {
			u = f[0]
			break
		}
	}
	for _, f := range r.colonFile("/etc/group") {
		if len(f) >= 3 && f[2] == g {
			g = f[0]
			break
		}
	}
	return u + ":" + g
}

func (r *Root) colonFile(p string) [][]string {
	c, err := r.ReadText(p)
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

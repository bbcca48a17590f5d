// Package registries decides which registry hosts gcrcred serves. Docker asks
// the helper about any host it is configured for and the kubelet matches images
// against the patterns we give it, so both front ends share this one list.
package registries

import (
	"net/url"
	"os"
	"path"
	"strings"
)

// Default patterns, with `*` standing for exactly one DNS label (the kubelet's
// matchImages semantics). `*.pkg.dev` covers `us-docker.pkg.dev`; regional
// endpoints such as `docker.us-central1.rep.pkg.dev` have more labels and need
// their own pattern.
var Default = []string{
	"gcr.io",
	"*.gcr.io",
	"*.pkg.dev",
	"docker.*.rep.pkg.dev",
	"container.cloud.google.com",
}

// EnvExtra names the variable holding extra patterns, comma-separated.
const EnvExtra = "GCRCRED_REGISTRIES"

// Set is a list of host patterns.
type Set []string

// FromEnv is Default plus GCRCRED_REGISTRIES.
func FromEnv() Set { return With(Extra(os.Getenv(EnvExtra))) }

// With is Default plus the given extra patterns.
func With(extra []string) Set {
	s := append(Set{}, Default...)
	for _, p := range extra {
		p = Host(p)
		if p != "" && !s.has(p) {
			s = append(s, p)
		}
	}
	return s
}

// Extra splits a comma-separated pattern list.
func Extra(list string) []string {
	var out []string
	for _, p := range strings.Split(list, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (s Set) has(p string) bool {
	for _, q := range s {
		if q == p {
			return true
		}
	}
	return false
}

// Serves reports whether host (any of the forms Docker passes: "gcr.io",
// "https://gcr.io", "https://us.gcr.io/v2/", "gcr.io/proj/img") is covered.
func (s Set) Serves(serverURL string) bool {
	host := Host(serverURL)
	if host == "" {
		return false
	}
	for _, p := range s {
		if Match(p, host) {
			return true
		}
	}
	return false
}

// Host reduces a server URL or image reference to its lower-case host[:port].
func Host(serverURL string) string {
	s := strings.TrimSpace(serverURL)
	if i := strings.Index(s, "://"); i >= 0 {
		if u, err := url.Parse(s); err == nil {
			return strings.ToLower(u.Host)
		}
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndex(s, "@"); i >= 0 { // user@host
		s = s[i+1:]
	}
	return strings.ToLower(s)
}

// Match reports whether host matches pattern label by label, as the kubelet
// does: same number of labels, `*` globs within one label, equal ports (a
// pattern without a port matches only a host without one).
func Match(pattern, host string) bool {
	pHost, pPort := splitPort(strings.ToLower(pattern))
	hHost, hPort := splitPort(strings.ToLower(host))
	if pPort != hPort && pPort != "*" {
		return false
	}
	pl, hl := strings.Split(pHost, "."), strings.Split(hHost, ".")
	if len(pl) != len(hl) {
		return false
	}
	for i := range pl {
		if ok, err := path.Match(pl[i], hl[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

func splitPort(h string) (host, port string) {
	if i := strings.LastIndex(h, ":"); i >= 0 && !strings.Contains(h[i:], "]") {
		return h[:i], h[i+1:]
	}
	return h, ""
}

// IsPattern reports whether p holds a glob rather than one host.
func IsPattern(p string) bool { return strings.ContainsAny(p, "*?[") }

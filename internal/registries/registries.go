// Package registries decides which registry hosts gcrcred serves. Docker asks
// the helper about any host it is configured for, and the kubelet matches
// images against the patterns we give it, so both front ends share this one
// parser and this one list. Input is held to the letter: a server URL that
// is not plainly [scheme://]host[:port][/path] is never served, and an extra
// pattern that would match more than one organisation's hosts is refused.
package registries

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Default patterns, with `*` standing for one DNS label or part of one (the
// kubelet's matchImages semantics). `*.pkg.dev` covers `us-docker.pkg.dev`;
// regional endpoints such as `docker.us-central1.rep.pkg.dev` have more
// labels and need their own pattern.
var Default = []string{
	"gcr.io",
	"*.gcr.io",
	"*.pkg.dev",
	"docker.*.rep.pkg.dev",
	"container.cloud.google.com",
}

// EnvExtra names the variable holding extra patterns, comma-separated.
const EnvExtra = "GCRCRED_REGISTRIES"

// Host returns the lower-case host[:port] of a server URL or image
// reference written as [http[s]://]host[:port][/path], or "" for anything
// else: userinfo ("@"), a backslash, percent-encoding, control characters or
// anything but letters, digits, '-' and '.' in the host; a port that is not
// a number up to 65535; another scheme.
func Host(serverURL string) string {
	s := strings.TrimSpace(serverURL)
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		if scheme = strings.ToLower(scheme); scheme != "https" && scheme != "http" {
			return ""
		}
		s = rest
	}
	authority, _, _ := strings.Cut(s, "/")
	host, port, hasPort := strings.Cut(authority, ":")
	if !validHost(host) || hasPort && !validPort(port) {
		return ""
	}
	return strings.ToLower(authority)
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	for _, r := range p {
		if r < '0' || r > '9' {
			return false
		}
	}
	n, _ := strconv.Atoi(p)
	return n > 0 && n <= 65535
}

// CheckPattern normalises an extra registry pattern, host[:port] with `*`
// globs, and refuses what the kubelet could not use or what would match the
// hosts of more than one organisation: a pattern whose fixed part (the
// labels after the last glob) is empty (`*`, `*.*`) or a public suffix
// (`*.com`, `*.co.uk`, `*.github.io`), by the public suffix list.
func CheckPattern(p string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(p))
	if scheme, rest, ok := strings.Cut(s, "://"); ok && (scheme == "https" || scheme == "http") {
		s = rest
	}
	s = strings.TrimSuffix(s, "/")
	if strings.Contains(s, "/") {
		return "", fmt.Errorf("registry pattern %q names a repository path: patterns name registry hosts, such as registry.example.com or *.corp.example.com", p)
	}
	host, port, hasPort := strings.Cut(s, ":")
	if hasPort && port != "*" && !validPort(port) {
		return "", fmt.Errorf("registry pattern %q has a bad port %q", p, port)
	}
	labels := strings.Split(host, ".")
	last := -1 // the last label with a glob
	for i, label := range labels {
		if !validHost(strings.ReplaceAll(label, "*", "x")) {
			return "", fmt.Errorf("registry pattern %q has a bad label %q: use host names, with `*` for one whole or partial DNS label", p, label)
		}
		if strings.Contains(label, "*") {
			last = i
		}
	}
	if last >= 0 {
		fixed := strings.Join(labels[last+1:], ".")
		if fixed == "" {
			return "", fmt.Errorf("registry pattern %q matches every host: gcrcred would send Google tokens to any registry; name your registry's domain, such as *.corp.example.com", p)
		}
		if suffix, _ := publicsuffix.PublicSuffix(fixed); suffix == fixed {
			return "", fmt.Errorf("registry pattern %q matches hosts under the public suffix %q, which belong to many organisations: gcrcred would send Google tokens to all of them; name your registry's own domain, such as *.corp.example.com", p, fixed)
		}
	}
	return s, nil
}

// ParseList checks a comma-separated list of extra patterns; the error names
// every pattern refused.
func ParseList(list string) ([]string, error) {
	var out []string
	var errs []error
	for _, p := range strings.Split(list, ",") {
		if strings.TrimSpace(p) == "" {
			continue
		}
		n, err := CheckPattern(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, n)
	}
	return out, errors.Join(errs...)
}

// Set is a list of host patterns.
type Set []string

// With is Default plus the given extra patterns (already checked).
func With(extra []string) Set {
	s := append(Set{}, Default...)
	for _, p := range extra {
		if !s.has(p) {
			s = append(s, p)
		}
	}
	return s
}

// FromList is Default plus the patterns of list (GCRCRED_REGISTRIES) that
// pass CheckPattern; err names those refused, which are not served.
func FromList(list string) (Set, error) {
	extra, err := ParseList(list)
	return With(extra), err
}

// Extra is what the set holds beyond Default.
func (s Set) Extra() []string { return append([]string{}, s[len(Default):]...) }

func (s Set) has(p string) bool {
	for _, q := range s {
		if q == p {
			return true
		}
	}
	return false
}

// Serves reports whether a server URL or image reference (see Host) is
// covered by a pattern of the set.
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

// Match reports whether host matches pattern label by label, as the kubelet
// does: same number of labels, `*` globs within one label, equal ports (a
// pattern without a port matches only a host without one).
func Match(pattern, host string) bool {
	pHost, pPort, _ := strings.Cut(strings.ToLower(pattern), ":")
	hHost, hPort, _ := strings.Cut(strings.ToLower(host), ":")
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

// IsPattern reports whether p holds a glob rather than one host.
func IsPattern(p string) bool { return strings.Contains(p, "*") }

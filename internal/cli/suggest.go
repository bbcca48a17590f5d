package cli

import (
	"strings"

	"github.com/agnivade/levenshtein"
)

// suggestion is ": did you mean PREFIX+NAME?" for the known name nearest to
// word, or "" when none is near: at most two edits (one for short words),
// or a known name that starts with word.
func suggestion(word string, known []string, prefix string) string {
	if s := Nearest(word, known); s != "" {
		return ": did you mean " + prefix + s + "?"
	}
	return ""
}

// suggestionOr is suggestion, or else ": want " and every known name.
func suggestionOr(word string, known []string) string {
	if s := suggestion(word, known, ""); s != "" {
		return s
	}
	return ": want " + strings.Join(known, ", ")
}

// Nearest is the known name closest to word by edit distance, "" if none
// is close enough to be what was meant.
func Nearest(word string, known []string) string {
	best, bestDist := "", 0
	limit := 2
	if len(word) <= 3 {
		limit = 1
	}
	for _, k := range known {
		d := levenshtein.ComputeDistance(strings.ToLower(word), strings.ToLower(k))
		if d <= limit && (best == "" || d < bestDist) {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return best
	}
	// A word that starts like a name, nearly to its end (--registry for
	// --registries, --cred for --credentials), means that name.
	bestPrefix := 0
	for _, k := range known {
		n := commonPrefix(strings.ToLower(word), strings.ToLower(k))
		if n >= 3 && (n == len(word) || n >= max(4, len(word)-2)) && n > bestPrefix {
			best, bestPrefix = k, n
		}
	}
	return best
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

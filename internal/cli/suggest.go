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
	if best == "" && len(word) >= 3 {
		for _, k := range known {
			if strings.HasPrefix(k, word) {
				return k
			}
		}
	}
	return best
}

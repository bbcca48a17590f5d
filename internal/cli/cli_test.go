package cli

import (
	"os/exec"
	"testing"
)

// ShellJoin is the one place argv becomes a shell string: sh must give
// back every word exactly.
func TestShellJoin(t *testing.T) {
	words := []string{"plain", "it's", "a'b'c", "", "$(rm -rf /) `x` \"y\"\nz", "*", "a b", "%h", "--context=kind-x"}
	out, err := exec.Command("sh", "-c", ShellJoin(append([]string{"printf", "[%s]"}, words...))).Output()
	want := ""
	for _, w := range words {
		want += "[" + w + "]"
	}
	if err != nil || string(out) != want {
		t.Errorf("ShellJoin came back as %q, want %q (%v)", out, want, err)
	}
}

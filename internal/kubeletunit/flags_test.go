package kubeletunit

import (
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/internal/nodelayout"
)

// ours are the flags gcrcred adds; extraArgs is kubeadm's variable.
var ours = nodelayout.KubeletFlags()

const extraArgs = "KUBELET_EXTRA_ARGS"

// minikube's drop-in, as its template renders it.
const minikubeDropIn = `[Unit]
Wants=docker.socket

[Service]
ExecStart=
ExecStart=/var/lib/minikube/binaries/v1.37.2/kubelet --bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --config=/var/lib/kubelet/config.yaml --hostname-override=minikube --kubeconfig=/etc/kubernetes/kubelet.conf --max-pods=50 --node-ip=192.168.49.2

[Install]
`

func TestExecStartFlagsAddThenRemoveGivesBackTheSameBytes(t *testing.T) {
	for name, unit := range map[string]string{
		"minikube":         minikubeDropIn,
		"no final newline": strings.TrimSuffix(minikubeDropIn, "\n"),
		"trailing blanks":  strings.Replace(minikubeDropIn, "192.168.49.2\n", "192.168.49.2  \n", 1),
		"continued line":   strings.Replace(minikubeDropIn, " --config=", " \\\n  --config=", 1),
	} {
		t.Run(name, func(t *testing.T) {
			added, changed, err := AddExecStartFlags(unit, ours)
			if err != nil || !changed {
				t.Fatalf("add: changed %v, %v", changed, err)
			}
			es, _ := EffectiveExecStart(added)
			if !HasFlags(SplitCommand(es.Value), ours) {
				t.Fatalf("flags not on the effective ExecStart:\n%s", added)
			}
			if again, changed, _ := AddExecStartFlags(added, ours); changed || again != added {
				t.Errorf("adding twice changed the drop-in:\n%s", again)
			}
			removed, changed := RemoveExecStartFlags(added, ours)
			if !changed || removed != unit {
				t.Errorf("remove after add:\n%q\nwant\n%q", removed, unit)
			}
			if _, changed := RemoveExecStartFlags(unit, ours); changed {
				t.Error("removing from a drop-in without the flags changed it")
			}
		})
	}
}

func TestEffectiveExecStartFollowsSystemd(t *testing.T) {
	for _, tc := range []struct {
		name, unit, want string
		ok               bool
	}{
		{"last assignment wins", "[Service]\nExecStart=/a\nExecStart=\nExecStart=/b --x\n", "/b --x", true},
		{"a reset at the end leaves none", "[Service]\nExecStart=/a\nExecStart=\n", "", false},
		{"other sections do not count", "[Unit]\nExecStart=/u\n[Service]\nExecStart=/s\n[Install]\nExecStart=/i\n", "/s", true},
		{"comments do not count", "[Service]\nExecStart=/s\n#ExecStart=/c\n", "/s", true},
		{"no service section", "[Unit]\nDescription=x\n", "", false},
	} {
		es, ok := EffectiveExecStart(tc.unit)
		if ok != tc.ok || es.Value != tc.want {
			t.Errorf("%s: got %q %v, want %q %v", tc.name, es.Value, ok, tc.want, tc.ok)
		}
	}
}

func TestAnotherProviderIsNotReplaced(t *testing.T) {
	unit := strings.Replace(minikubeDropIn, "--max-pods=50", "--max-pods=50 --image-credential-provider-config=/etc/other.yaml", 1)
	if _, _, err := AddExecStartFlags(unit, ours); err == nil || !strings.Contains(err.Error(), "/etc/other.yaml") {
		t.Errorf("adding over another provider: %v", err)
	}
	if removed, changed := RemoveExecStartFlags(unit, ours); changed || removed != unit {
		t.Error("a flag that is not gcrcred's was taken out")
	}
	if _, _, err := AddExecStartFlags("[Service]\nExecStart=\n", ours); err == nil {
		t.Error("a drop-in without an ExecStart passed")
	}
}

// KUBELET_EXTRA_ARGS keeps its quoting and what is already in it; a file
// without it gets one line; taking the flags out gives the bytes back.
func TestEnvFileFlags(t *testing.T) {
	const flags = "--image-credential-provider-config=/etc/gcrcred/credential-provider.yaml --image-credential-provider-bin-dir=/usr/local/lib/gcrcred/bin"
	for _, tc := range []struct{ name, in, want string }{
		{"empty, unquoted (the Debian package's)", "KUBELET_EXTRA_ARGS=\n", "KUBELET_EXTRA_ARGS=" + flags + "\n"},
		{"unquoted with a flag", "KUBELET_EXTRA_ARGS=--fail-swap-on=false\n", "KUBELET_EXTRA_ARGS=--fail-swap-on=false " + flags + "\n"},
		{"double quotes", "# admin\nKUBELET_EXTRA_ARGS=\"--node-labels=a=b\"\n", "# admin\nKUBELET_EXTRA_ARGS=\"--node-labels=a=b " + flags + "\"\n"},
		{"single quotes, empty", "KUBELET_EXTRA_ARGS=''", "KUBELET_EXTRA_ARGS='" + flags + "'"},
		{"no assignment", "OTHER=1", "OTHER=1\nKUBELET_EXTRA_ARGS=" + flags + "\n"},
		{"no file", "", "KUBELET_EXTRA_ARGS=" + flags + "\n"},
		{"the last assignment counts", "KUBELET_EXTRA_ARGS=--a\nKUBELET_EXTRA_ARGS=--b\n", "KUBELET_EXTRA_ARGS=--a\nKUBELET_EXTRA_ARGS=--b " + flags + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, changed, err := AddEnvFlags(tc.in, extraArgs, ours)
			if err != nil || !changed || out != tc.want {
				t.Fatalf("add: %v %v\n%q\nwant\n%q", changed, err, out, tc.want)
			}
			if got := SplitCommand(ParseEnvFile(out)[extraArgs]); !HasFlags(got, ours) {
				t.Errorf("systemd would read %v", got)
			}
			if again, changed, _ := AddEnvFlags(out, extraArgs, ours); changed || again != out {
				t.Errorf("adding twice changed it: %q", again)
			}
			if strings.Contains(tc.in, extraArgs) {
				if back, changed := RemoveEnvFlags(out, extraArgs, ours); !changed || back != tc.in {
					t.Errorf("remove after add: %q, want %q", back, tc.in)
				}
			}
		})
	}
	if _, _, err := AddEnvFlags("KUBELET_EXTRA_ARGS=--image-credential-provider-config=/x\n", extraArgs, ours); err == nil || !strings.Contains(err.Error(), "/x") {
		t.Errorf("another provider's flag: %v", err)
	}
}

func TestFlagIn(t *testing.T) {
	args := SplitCommand(`/kubelet --a=1 -b=2 --c 3 --d "x y" --a=4`)
	for key, want := range map[string]string{"a": "4", "b": "2", "c": "3", "d": "x y"} {
		if v, ok := FlagIn(args, key); !ok || v != want {
			t.Errorf("flag %s = %q %v, want %q", key, v, ok, want)
		}
	}
	if _, ok := FlagIn(args, "kubelet"); ok {
		t.Error("the program name counted as a flag")
	}
}

func TestRemoveWordNeedsAWholeWord(t *testing.T) {
	for _, tc := range []struct{ in, w, want string }{
		{"x --f=/a/b", "--f=/a", "x --f=/a/b"},
		{"x --f=/a --g", "--f=/a", "x --g"},
		{`"--f=/a --g"`, "--f=/a", `"--g"`},
		{"K=--f=/a", "--f=/a", "K="},
	} {
		if got, _ := removeWord(tc.in, tc.w); got != tc.want {
			t.Errorf("removeWord(%q, %q) = %q, want %q", tc.in, tc.w, got, tc.want)
		}
	}
}

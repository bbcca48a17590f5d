package minikube

import (
	"strings"
	"testing"
)

// minikube's drop-in, as its template renders it.
const minikubeDropIn = `[Unit]
Wants=docker.socket

[Service]
ExecStart=
ExecStart=/var/lib/minikube/binaries/v1.37.2/kubelet --bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --config=/var/lib/kubelet/config.yaml --hostname-override=minikube --kubeconfig=/etc/kubernetes/kubelet.conf --max-pods=50 --node-ip=192.168.49.2

[Install]
`

func TestAddThenRemoveFlagsGivesBackTheSameBytes(t *testing.T) {
	for name, unit := range map[string]string{
		"minikube":         minikubeDropIn,
		"no final newline": strings.TrimSuffix(minikubeDropIn, "\n"),
		"trailing blanks":  strings.Replace(minikubeDropIn, "192.168.49.2\n", "192.168.49.2  \n", 1),
		"continued line":   strings.Replace(minikubeDropIn, " --config=", " \\\n  --config=", 1),
	} {
		t.Run(name, func(t *testing.T) {
			added, changed, err := addFlags(unit)
			if err != nil || !changed {
				t.Fatalf("addFlags: changed %v, %v", changed, err)
			}
			es, _ := effectiveExecStart(added)
			if !hasOurFlags(splitCommand(es.value)) {
				t.Fatalf("flags not on the effective ExecStart:\n%s", added)
			}
			if again, changed, _ := addFlags(added); changed || again != added {
				t.Errorf("adding twice changed the drop-in:\n%s", again)
			}
			removed, changed := removeFlags(added)
			if !changed || removed != unit {
				t.Errorf("remove after add:\n%q\nwant\n%q", removed, unit)
			}
			if _, changed := removeFlags(unit); changed {
				t.Error("removing from a drop-in without our flags changed it")
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
		es, ok := effectiveExecStart(tc.unit)
		if ok != tc.ok || es.value != tc.want {
			t.Errorf("%s: got %q %v, want %q %v", tc.name, es.value, ok, tc.want, tc.ok)
		}
	}
}

func TestAnotherProviderIsNotReplaced(t *testing.T) {
	unit := strings.Replace(minikubeDropIn, "--max-pods=50", "--max-pods=50 --image-credential-provider-config=/etc/other.yaml", 1)
	if _, _, err := addFlags(unit); err == nil || !strings.Contains(err.Error(), "/etc/other.yaml") {
		t.Errorf("addFlags over another provider: %v", err)
	}
	if removed, changed := removeFlags(unit); changed || removed != unit {
		t.Error("removeFlags took out a flag that is not ours")
	}
	if _, _, err := addFlags("[Service]\nExecStart=\n"); err == nil {
		t.Error("addFlags without an ExecStart succeeded")
	}
}

func TestFlagIn(t *testing.T) {
	args := splitCommand(`/kubelet --a=1 -b=2 --c 3 --d "x y"`)
	for key, want := range map[string]string{"a": "1", "b": "2", "c": "3", "d": "x y"} {
		if v, ok := flagIn(args, key); !ok || v != want {
			t.Errorf("flag %s = %q %v, want %q", key, v, ok, want)
		}
	}
	if _, ok := flagIn(args, "kubelet"); ok {
		t.Error("the program name counted as a flag")
	}
}

func TestCutWordNeedsAWholeWord(t *testing.T) {
	if l, ok := cutWord("x --f=/a/b", "--f=/a"); ok {
		t.Errorf("cut a prefix of a longer word: %q", l)
	}
	if l, ok := cutWord("x --f=/a --g", "--f=/a"); !ok || l != "x --g" {
		t.Errorf("cutWord = %q %v", l, ok)
	}
}

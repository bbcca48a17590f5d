package hostinstall

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestCheckPortable(t *testing.T) {
	for _, tc := range []struct {
		name, json, refuse, note string
	}{
		{"key", `{"type":"service_account"}`, "", ""},
		{"federation from a host file", `{"type":"external_account","credential_source":{"file":"/var/run/token"}}`, "/var/run/token", ""},
		{"federation from a host program", `{"type":"external_account","credential_source":{"executable":{"command":"/bin/get-token"}}}`, "/bin/get-token", ""},
		{"federation from host loopback", `{"type":"external_account","credential_source":{"url":"http://127.0.0.1:8080/token"}}`, "loopback", ""},
		{"federation from a URL", `{"type":"external_account","credential_source":{"url":"https://idp.example.com/token"}}`, "", "idp.example.com"},
		{"federation on AWS", `{"type":"external_account","credential_source":{"environment_id":"aws1"}}`, "", "aws1"},
		{"impersonating a federated identity", `{"type":"impersonated_service_account","source_credentials":{"type":"external_account","credential_source":{"file":"/t"}}}`, "/t", ""},
	} {
		c := &Credentials{}
		err := checkPortable([]byte(tc.json), "creds.json", "minikube", c)
		switch {
		case tc.refuse == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.refuse != "" && (err == nil || !strings.Contains(err.Error(), tc.refuse) || !strings.Contains(err.Error(), "service-account key")):
			t.Errorf("%s: err %v, want a refusal naming %q and what to use instead", tc.name, err, tc.refuse)
		case tc.note != "" && (len(c.Notes) != 1 || !strings.Contains(c.Notes[0], tc.note)):
			t.Errorf("%s: notes %v, want one about %q", tc.name, c.Notes, tc.note)
		}
	}
}

func TestGoArch(t *testing.T) {
	for in, want := range map[string]string{"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"} {
		if got, err := GoArch(in); err != nil || got != want {
			t.Errorf("GoArch(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := GoArch("s390x"); err == nil || !strings.Contains(err.Error(), "s390x") {
		t.Errorf("GoArch(s390x): %v", err)
	}
}

func TestFindBinaryChecksWhatItFinds(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs Linux executables to inspect")
	}
	dist := t.TempDir()
	if _, err := FindBinary(dist, "arm64"); err == nil || !strings.Contains(err.Error(), "make dist") || !strings.Contains(err.Error(), "gcrcred-linux-arm64") {
		t.Errorf("missing binary: %v", err)
	}
	// A dynamically linked program cannot run on a Buildroot node; the same
	// ELF without its interpreter passes.
	for _, interp := range []bool{true, false} {
		p := filepath.Join(t.TempDir(), "prog")
		if err := os.WriteFile(p, elfWithInterp(t, elf.EM_X86_64, interp), 0o755); err != nil {
			t.Fatal(err)
		}
		err := checkNodeBinary(p, "amd64")
		if interp && (err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0")) || !interp && err != nil {
			t.Errorf("ELF with interpreter %v: %v", interp, err)
		}
	}
	os.WriteFile(filepath.Join(dist, "gcrcred-linux-arm64"), []byte("#!/bin/sh\n"), 0o755)
	if _, err := FindBinary(dist, "arm64"); err == nil || !strings.Contains(err.Error(), "not a Linux executable") {
		t.Errorf("a script as binary: %v", err)
	}
	self, _ := os.Executable() // the test binary: this machine's architecture
	other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]
	if err := checkNodeBinary(self, other); err == nil || !strings.Contains(err.Error(), "make dist") {
		t.Errorf("a %s binary passed for %s: %v", runtime.GOARCH, other, err)
	}
}

func TestRunStepsPrintsAndStops(t *testing.T) {
	ran := 0
	steps := []Step{
		{Node: "n1", What: "first", Do: func(_ context.Context, w io.Writer) (bool, error) {
			ran++
			io.WriteString(w, "kubelet set-up: x\n  new a\n")
			return true, nil
		}},
		{What: "second", Do: func(context.Context, io.Writer) (bool, error) { ran++; return false, errors.New("boom") }},
		{What: "third", Do: func(context.Context, io.Writer) (bool, error) { ran++; return true, nil }},
	}
	var out strings.Builder
	err := RunSteps(context.Background(), &out, steps)
	if ran != 2 || err == nil || !strings.Contains(err.Error(), "second: boom") {
		t.Errorf("ran %d, err %v", ran, err)
	}
	if want := "  - n1: first ... done\n      kubelet set-up: x\n        new a\n  - second ... failed\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}

// TestRBACManifest: the two objects decode as YAML with the audience as
// given, whatever it holds (URLs, colons, quotes), and the binding names
// the role and group system:nodes.
func TestRBACManifest(t *testing.T) {
	for _, aud := range []string{"//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/c", `https://x.example/a:b "c" #d`} {
		docs := strings.Split(RBACManifest(aud), "\n---\n")
		if len(docs) != 2 {
			t.Fatalf("%d documents", len(docs))
		}
		var role struct {
			Kind     string
			Metadata struct {
				Name   string
				Labels map[string]string
			}
			Rules []struct{ APIGroups, Resources, Verbs []string }
		}
		var binding struct {
			Kind     string
			RoleRef  struct{ Kind, Name string }
			Subjects []struct{ Kind, Name string }
		}
		if err := yaml.Unmarshal([]byte(docs[0]), &role); err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal([]byte(docs[1]), &binding); err != nil {
			t.Fatal(err)
		}
		r := role.Rules
		if role.Kind != "ClusterRole" || role.Metadata.Name != RBACName || len(r) != 1 || len(r[0].Resources) != 1 || r[0].Resources[0] != aud ||
			len(r[0].APIGroups) != 1 || r[0].APIGroups[0] != "" || len(r[0].Verbs) != 1 || r[0].Verbs[0] != "request-serviceaccounts-token-audience" {
			t.Errorf("audience %q: role %+v", aud, role)
		}
		if "app.kubernetes.io/managed-by="+role.Metadata.Labels["app.kubernetes.io/managed-by"] != rbacSelector {
			t.Errorf("labels %v: uninstall selects %s", role.Metadata.Labels, rbacSelector)
		}
		if binding.Kind != "ClusterRoleBinding" || binding.RoleRef.Name != RBACName || len(binding.Subjects) != 1 || binding.Subjects[0].Kind != "Group" || binding.Subjects[0].Name != "system:nodes" {
			t.Errorf("binding %+v", binding)
		}
	}
}

// elfWithInterp is the smallest ELF executable header with one program
// header: a PT_INTERP (what a dynamically linked program has), or a
// PT_LOAD.
func elfWithInterp(t *testing.T, machine elf.Machine, interp bool) []byte {
	t.Helper()
	var b bytes.Buffer
	hdr := elf.Header64{
		Type: uint16(elf.ET_EXEC), Machine: uint16(machine), Version: uint32(elf.EV_CURRENT),
		Phoff: 64, Ehsize: 64, Phentsize: 56, Phnum: 1,
	}
	copy(hdr.Ident[:], elf.ELFMAG)
	hdr.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	hdr.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	hdr.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	prog := elf.Prog64{Type: uint32(elf.PT_LOAD)}
	if interp {
		prog.Type = uint32(elf.PT_INTERP)
	}
	if err := binary.Write(&b, binary.LittleEndian, hdr); err != nil {
		t.Fatal(err)
	}
	if err := binary.Write(&b, binary.LittleEndian, prog); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

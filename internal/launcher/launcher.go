// Package launcher is main for the build of gcrcred that `make build` and
// `make dist` produce for Linux: a small program that answers the warm path
// (internal/fastpath) itself and otherwise runs the full gcrcred, which it
// carries embedded. Both are one file, one binary to install; the full
// program's start-up cost (net/http, crypto/tls, oauth2) is paid only when a
// token must really be minted or for the other commands.
package launcher

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gcrcred/gcrcred/internal/fastpath"
	"github.com/gcrcred/gcrcred/provider/kubeletapi"
)

// EnvExecutable tells the full program where the launcher lives on disk (its
// own os.Executable is an anonymous in-memory file), e.g. for the minikube
// installer copying "this binary" to a node.
const EnvExecutable = "GCRCRED_EXECUTABLE"

// EnvNoFastPath, set to anything, sends every call to the full program (to
// compare the two, or to get its debug log for a warm call).
const EnvNoFastPath = "GCRCRED_NO_FASTPATH"

// stdinWait bounds the wait for a request, as the full program does.
const stdinWait = 10 * time.Second

// Run serves argv. It returns only when it answered itself (0) or could not
// start the full program (1, reason on stderr).
func Run(argv []string) int {
	var input []byte
	var consumed bool
	if kind := fastKind(argv); kind != "" && os.Getenv(EnvNoFastPath) == "" {
		input, consumed = readInput(os.Stdin)
		var out bytes.Buffer
		switch kind {
		case "docker":
			switch fastpath.Docker(input, &out) {
			case fastpath.Answered:
				os.Stdout.Write(out.Bytes())
				return 0
			case fastpath.NotFound:
				os.Stdout.Write(out.Bytes())
				return 1
			}
		case "kubelet":
			if fastpath.Kubelet(argv[2:], input, &out) {
				os.Stdout.Write(out.Bytes())
				return 0
			}
		}
	}
	if os.Getenv(EnvExecutable) == "" {
		if exe, err := os.Executable(); err == nil {
			os.Setenv(EnvExecutable, exe)
		}
	}
	err := execFull(argv, input, consumed)
	os.Stderr.WriteString("gcrcred: cannot start the full program: " + err.Error() + "\n")
	return 1
}

// fastKind says which warm path argv is: "docker" for a credential-helper
// `get`, "kubelet" for `get-credentials`, "" for anything else.
func fastKind(argv []string) string {
	if len(argv) < 2 {
		return ""
	}
	if strings.HasPrefix(filepath.Base(argv[0]), "docker-credential-") || argv[1] == "get" {
		if len(argv) == 2 && argv[1] == "get" {
			return "docker"
		}
		return ""
	}
	if argv[1] == "get-credentials" {
		return "kubelet"
	}
	return ""
}

// readInput reads stdin up to the provider's cap (one byte more, so the full
// program still sees that it is too large) and gives up waiting after
// stdinWait. consumed reports whether stdin was touched at all.
func readInput(f *os.File) (data []byte, consumed bool) {
	type result struct{ b []byte }
	done := make(chan result, 1)
	go func() {
		var buf bytes.Buffer
		buf.ReadFrom(io.LimitReader(f, kubeletapi.MaxRequestBytes+1))
		done <- result{buf.Bytes()}
	}()
	select {
	case r := <-done:
		return r.b, true
	case <-time.After(stdinWait):
		return nil, true
	}
}

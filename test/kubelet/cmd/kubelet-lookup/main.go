// Command kubelet-lookup runs the kubelet's own image credential provider code
// (k8s.io/kubernetes/pkg/credentialprovider/plugin) against a provider config
// and bin dir, the way the kubelet does before an image pull, and prints what
// the kubelet would pull with. It is a test tool: it prints the password.
//
//	kubelet-lookup -config FILE -bin-dir DIR -image IMAGE [-image IMAGE2 ...] [-n N] [-interval D] [-count-execs=false]
//
// It registers the plugins from FILE (a file or, as kubelet 1.37 allows, a
// directory) with RegisterCredentialProviderPlugins, which validates it as the
// kubelet does, then does N rounds of lookups of every IMAGE through
// NewExternalCredentialProviderDockerKeyring, D apart. Output, one JSON object
// on stdout:
//
//	{"found":true,"username":"oauth2accesstoken","password":"ya29...","execs":1,"lookups":3,
//	 "results":[{"image":"gcr.io/p/i","found":true,"username":"...","password":"..."}]}
//
// found/username/password are the last lookup of the first IMAGE; results has
// the last lookup of each IMAGE; execs counts the plugin executions. Exit 0
// whether or not credentials were found, 1 when registration fails (the
// kubelet would refuse to start; the error is on stderr), 2 for bad flags.
//
// It needs nothing at runtime (no kubeconfig, no HOME, no /proc when run by
// an absolute path) and passes its own environment to plugins, as the kubelet
// does: run it with the environment the kubelet would have.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/credentialprovider/plugin"
)

func main() {
	if wrapping() {
		os.Exit(wrapExec())
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type imageList []string

func (l *imageList) String() string     { return fmt.Sprint(*l) }
func (l *imageList) Set(v string) error { *l = append(*l, v); return nil }

// Result is what the kubelet would pull one image with.
type Result struct {
	Image    string `json:"image"`
	Found    bool   `json:"found"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// Output is the JSON printed on stdout.
type Output struct {
	Found    bool     `json:"found"`
	Username string   `json:"username"`
	Password string   `json:"password"`
	Execs    int      `json:"execs"` // -1 with -count-execs=false
	Lookups  int      `json:"lookups"`
	Results  []Result `json:"results"`
}

func run(args []string, stdout, stderr io.Writer) int {
	var (
		configPath, binDir string
		images             imageList
		rounds             int
		interval           time.Duration
		countExecs         bool
	)
	fs := flag.NewFlagSet("kubelet-lookup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&configPath, "config", "", "the kubelet's --image-credential-provider-config (file or directory)")
	fs.StringVar(&binDir, "bin-dir", "", "the kubelet's --image-credential-provider-bin-dir")
	fs.Var(&images, "image", "image to look up (repeatable)")
	fs.IntVar(&rounds, "n", 1, "rounds of lookups")
	fs.DurationVar(&interval, "interval", 0, "pause between rounds")
	fs.BoolVar(&countExecs, "count-execs", true, "count plugin executions (runs each plugin through this binary, which then execs the real one)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if configPath == "" || binDir == "" || len(images) == 0 || rounds < 1 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "kubelet-lookup: need -config FILE -bin-dir DIR -image IMAGE [-n N >= 1] and no other arguments")
		return 2
	}

	registerDir, counter := binDir, (*execCounter)(nil)
	if countExecs {
		var err error
		if counter, err = newExecCounter(binDir); err != nil {
			fmt.Fprintf(stderr, "kubelet-lookup: %v\n", err)
			return 2
		}
		defer counter.Close()
		registerDir = counter.Dir
	}

	if err := plugin.RegisterCredentialProviderPlugins(configPath, registerDir, noSAToken, noSA); err != nil {
		fmt.Fprintf(stderr, "kubelet-lookup: registering credential provider plugins: %v\n", err)
		return 1
	}

	out := Output{Execs: -1}
	results := make([]Result, len(images))
	for round := 0; round < rounds; round++ {
		if round > 0 && interval > 0 {
			time.Sleep(interval)
		}
		for i, image := range images {
			// A keyring per lookup, as the kubelet makes one per pod pull.
			keyring := plugin.NewExternalCredentialProviderDockerKeyring("default", "kubelet-lookup", "00000000-0000-0000-0000-000000000001", "default")
			creds, found := keyring.Lookup(image)
			r := Result{Image: image, Found: found}
			if found && len(creds) > 0 {
				r.Username, r.Password = creds[0].Username, creds[0].Password
			}
			results[i] = r
			out.Lookups++
		}
	}
	out.Results = results
	out.Found, out.Username, out.Password = results[0].Found, results[0].Username, results[0].Password
	if counter != nil {
		out.Execs = counter.Count()
	}
	b, err := json.Marshal(out)
	if err != nil {
		fmt.Fprintf(stderr, "kubelet-lookup: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, string(b))
	return 0
}

// There is no API server: configs with tokenAttributes fail their lookups.
func noSAToken(namespace, name string, tr *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
	return nil, errors.New("kubelet-lookup has no API server to mint service account tokens")
}

func noSA(namespace, name string) (*v1.ServiceAccount, error) {
	return nil, errors.New("kubelet-lookup has no API server to read service accounts")
}

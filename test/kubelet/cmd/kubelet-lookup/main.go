// Command kubelet-lookup runs the kubelet's own image credential provider code
// (k8s.io/kubernetes/pkg/credentialprovider/plugin) against a provider config
// and bin dir, the way the kubelet does before an image pull, and prints what
// the kubelet would pull with. It is a test tool: it prints the password.
//
//	kubelet-lookup -config FILE -bin-dir DIR -image IMAGE [-image IMAGE2 ...] [-n N] [-interval D] [-count-execs=false]
//	    [-sa NS/NAME[,uid=UID][,annotation=KEY=VALUE]... ...] [-no-sa] [-sa-issuer URL -sa-key FILE]
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
// Service accounts (for providers with tokenAttributes): every -sa is a
// service account with that UID and those annotations, and each round
// looks up every IMAGE for a new pod of every -sa (so the kubelet's cache,
// not a pod, is what makes later rounds cheap); results then has one entry
// per service account and image, in that order, with serviceAccount set.
// Without -sa, one pod of default/default, as before; with -no-sa, pods with
// no service account at all. A -then-sa NS/NAME,... replaces the service
// account of that name after the first round (say, its annotations
// changed): later rounds' pods get it from the API, as the kubelet does;
// firstResults has the first round's results. The kubelet's service-account token requests
// are answered with tokens signed by the RSA key in -sa-key (PEM) for
// issuer -sa-issuer, as an API server signs them (audience, pod binding,
// service account UID, one hour); tokenRequests counts them. Without
// -sa-key, token requests fail as they do with no API server.
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
	"slices"
	"strings"
	"sync/atomic"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/kubernetes/pkg/credentialprovider/plugin"

	"github.com/gcrcred/gcrcred/test/fakegoogle"
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
	Image          string `json:"image"`
	ServiceAccount string `json:"serviceAccount,omitempty"` // NS/NAME, with -sa
	Found          bool   `json:"found"`
	Username       string `json:"username"`
	Password       string `json:"password"`
}

// serviceAccount is one -sa.
type serviceAccount struct {
	namespace, name, uid string
	annotations          map[string]string
}

type serviceAccounts []serviceAccount

func (l *serviceAccounts) String() string { return fmt.Sprint(len(*l)) }

// Set parses NS/NAME[,uid=UID][,annotation=KEY=VALUE]...
func (l *serviceAccounts) Set(v string) error {
	fields := strings.Split(v, ",")
	ns, name, ok := strings.Cut(fields[0], "/")
	if !ok || ns == "" || name == "" {
		return fmt.Errorf("want NAMESPACE/NAME first, got %q", fields[0])
	}
	sa := serviceAccount{namespace: ns, name: name, uid: "uid-" + ns + "-" + name, annotations: map[string]string{}}
	for _, f := range fields[1:] {
		k, val, _ := strings.Cut(f, "=")
		switch k {
		case "uid":
			sa.uid = val
		case "annotation":
			ak, av, ok := strings.Cut(val, "=")
			if !ok {
				return fmt.Errorf("want annotation=KEY=VALUE, got %q", f)
			}
			sa.annotations[ak] = av
		default:
			return fmt.Errorf("unknown field %q (want uid= or annotation=)", f)
		}
	}
	*l = append(*l, sa)
	return nil
}

// Output is the JSON printed on stdout.
type Output struct {
	Found    bool     `json:"found"`
	Username string   `json:"username"`
	Password string   `json:"password"`
	Execs    int      `json:"execs"` // -1 with -count-execs=false
	Lookups  int      `json:"lookups"`
	Results  []Result `json:"results"`
	// TokenRequests counts the service-account tokens the kubelet asked for.
	TokenRequests int64 `json:"tokenRequests"`
	// FirstResults are the first round's results (with -then-sa).
	FirstResults []Result `json:"firstResults,omitempty"`
}

func run(args []string, stdout, stderr io.Writer) int {
	var (
		configPath, binDir string
		images             imageList
		rounds             int
		interval           time.Duration
		countExecs         bool
		sas, thenSAs       serviceAccounts
		noSAFlag           bool
		saIssuer, saKey    string
	)
	fs := flag.NewFlagSet("kubelet-lookup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&configPath, "config", "", "the kubelet's --image-credential-provider-config (file or directory)")
	fs.StringVar(&binDir, "bin-dir", "", "the kubelet's --image-credential-provider-bin-dir")
	fs.Var(&images, "image", "image to look up (repeatable)")
	fs.IntVar(&rounds, "n", 1, "rounds of lookups")
	fs.DurationVar(&interval, "interval", 0, "pause between rounds")
	fs.BoolVar(&countExecs, "count-execs", true, "count plugin executions (runs each plugin through this binary, which then execs the real one)")
	fs.Var(&sas, "sa", "a pod's service account: NS/NAME[,uid=UID][,annotation=KEY=VALUE]... (repeatable)")
	fs.Var(&thenSAs, "then-sa", "after the first round, the service account of that name becomes this one (repeatable)")
	fs.BoolVar(&noSAFlag, "no-sa", false, "pods without a service account")
	fs.StringVar(&saIssuer, "sa-issuer", "https://kubernetes.default.svc.cluster.local", "iss of the service-account tokens")
	fs.StringVar(&saKey, "sa-key", "", "PEM RSA key that signs service-account tokens (default: token requests fail)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if configPath == "" || binDir == "" || len(images) == 0 || rounds < 1 || fs.NArg() > 0 || noSAFlag && len(sas) > 0 || len(thenSAs) > 0 && (len(sas) == 0 || rounds < 2) {
		fmt.Fprintln(stderr, "kubelet-lookup: need -config FILE -bin-dir DIR -image IMAGE [-n N >= 1], at most one of -sa and -no-sa, -then-sa only with -sa and -n 2 or more, and no other arguments")
		return 2
	}
	api := &fakeAPI{accounts: sas}
	if saKey != "" {
		pem, err := os.ReadFile(saKey)
		if err == nil {
			api.issuer, err = fakegoogle.LoadTokenIssuer(saIssuer, pem)
		}
		if err != nil {
			fmt.Fprintf(stderr, "kubelet-lookup: -sa-key: %v\n", err)
			return 2
		}
	}
	pods := sas
	switch {
	case noSAFlag:
		pods = serviceAccounts{{namespace: "default"}}
	case len(sas) == 0:
		pods = serviceAccounts{{namespace: "default", name: "default"}}
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

	if err := plugin.RegisterCredentialProviderPlugins(configPath, registerDir, api.token, api.serviceAccount); err != nil {
		fmt.Fprintf(stderr, "kubelet-lookup: registering credential provider plugins: %v\n", err)
		return 1
	}

	out := Output{Execs: -1}
	results := make([]Result, len(pods)*len(images))
	for round := 0; round < rounds; round++ {
		if round > 0 && interval > 0 {
			time.Sleep(interval)
		}
		if round == 1 && len(thenSAs) > 0 {
			out.FirstResults = append([]Result(nil), results...)
			if err := api.replace(thenSAs); err != nil {
				fmt.Fprintf(stderr, "kubelet-lookup: -then-sa: %v\n", err)
				return 2
			}
		}
		for p, sa := range pods {
			for i, image := range images {
				// A keyring per lookup, as the kubelet makes one per pod pull;
				// with -sa, a new pod each time.
				podName, podUID := "kubelet-lookup", "00000000-0000-0000-0000-000000000001"
				if len(sas) > 0 {
					podName, podUID = fmt.Sprintf("%s-%d-%d", sa.name, round, i), fakegoogle.NewUID()
				}
				keyring := plugin.NewExternalCredentialProviderDockerKeyring(sa.namespace, podName, podUID, sa.name)
				creds, found := keyring.Lookup(image)
				r := Result{Image: image, Found: found}
				if len(sas) > 0 {
					r.ServiceAccount = sa.namespace + "/" + sa.name
				}
				if found && len(creds) > 0 {
					r.Username, r.Password = creds[0].Username, creds[0].Password
				}
				results[p*len(images)+i] = r
				out.Lookups++
			}
		}
	}
	out.TokenRequests = api.requests.Load()
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

// fakeAPI stands in for the API server's service accounts and token requests.
type fakeAPI struct {
	accounts serviceAccounts
	issuer   *fakegoogle.TokenIssuer // nil: token requests fail
	requests atomic.Int64
}

func (a *fakeAPI) serviceAccount(namespace, name string) (*v1.ServiceAccount, error) {
	for _, sa := range a.accounts {
		if sa.namespace == namespace && sa.name == name {
			return &v1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name,
				UID: types.UID(sa.uid), Annotations: sa.annotations}}, nil
		}
	}
	return nil, fmt.Errorf("kubelet-lookup: no service account %s/%s (give it with -sa)", namespace, name)
}

// replace puts each of sas in place of the account of its name.
func (a *fakeAPI) replace(sas serviceAccounts) error {
	for _, sa := range sas {
		i := slices.IndexFunc(a.accounts, func(x serviceAccount) bool { return x.namespace == sa.namespace && x.name == sa.name })
		if i < 0 {
			return fmt.Errorf("no -sa %s/%s to replace", sa.namespace, sa.name)
		}
		a.accounts[i] = sa
	}
	return nil
}

// token signs a bound token as the API server would for the request.
func (a *fakeAPI) token(namespace, name string, tr *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
	a.requests.Add(1)
	if a.issuer == nil {
		return nil, errors.New("kubelet-lookup has no API server to mint service account tokens (give -sa-key)")
	}
	c := fakegoogle.ServiceAccountClaims{Namespace: namespace, Name: name, UID: string(tr.UID),
		Audiences: tr.Spec.Audiences, Lifetime: time.Hour}
	if ref := tr.Spec.BoundObjectRef; ref != nil {
		c.PodName, c.PodUID = ref.Name, string(ref.UID)
	}
	tok, err := a.issuer.ServiceAccountToken(c)
	if err != nil {
		return nil, err
	}
	out := tr.DeepCopy()
	out.Status = authenticationv1.TokenRequestStatus{Token: tok, ExpirationTimestamp: metav1.NewTime(time.Now().Add(time.Hour))}
	return out, nil
}

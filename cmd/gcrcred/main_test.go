package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/internal/cli"
	"github.com/gcrcred/gcrcred/test/testbin"
)

var update = flag.Bool("update", false, "rewrite docs/cli.md and the generated section of docs/design.md")

// execute runs the command line in process (usage errors and help end
// before any command runs).
func execute(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = cli.Execute(commands(), args, cli.Call{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

// every is every command of the tree, hidden ones too, with its words.
func every(c *cli.Command, words []string, f func(c *cli.Command, words []string)) {
	f(c, words)
	for _, s := range c.Subs {
		every(s, append(append([]string{}, words...), s.Name), f)
	}
}

// TestEveryFlagHasUsageAndIsInItsHelpAndTheDesign: every flag of every
// command has a usage string, appears in that command's generated help,
// and is described in docs/design.md.
func TestEveryFlagHasUsageAndIsInItsHelpAndTheDesign(t *testing.T) {
	design, err := os.ReadFile(filepath.Join(testbin.Root(), "docs", "design.md"))
	if err != nil {
		t.Fatal(err)
	}
	root := commands().Link()
	n := 0
	every(root, nil, func(c *cli.Command, words []string) {
		if len(c.Subs) > 0 {
			return
		}
		var help bytes.Buffer
		cli.WriteHelp(&help, c)
		fs := c.NewFlagSet()
		fs.VisitAll(func(f *flag.Flag) {
			n++
			word := "--" + f.Name
			if len(f.Name) == 1 {
				word = "-" + f.Name
			}
			if strings.TrimSpace(f.Usage) == "" {
				t.Errorf("%s %s has no usage string", c.Path(), word)
			}
			if !strings.Contains(help.String(), word+" ") && !strings.Contains(help.String(), word+",") && !strings.Contains(help.String(), word+"\n") {
				t.Errorf("%s %s is not in its help:\n%s", c.Path(), word, help.String())
			}
			if !bytes.Contains(design, []byte("`"+word)) {
				t.Errorf("%s %s is not described in docs/design.md", c.Path(), word)
			}
		})
	})
	if n < 60 {
		t.Errorf("only %d flags found: is the tree walked?", n)
	}
}

// TestHelpOnEveryCommand: --help (and -h, and `help WORDS`) on every
// command prints its help to stdout and exits 0, wherever it is on the
// line.
func TestHelpOnEveryCommand(t *testing.T) {
	every(commands().Link(), nil, func(c *cli.Command, words []string) {
		for _, args := range [][]string{append(words, "--help"), append([]string{"-h"}, words...), append([]string{"help"}, words...)} {
			if len(words) == 0 && args[0] == "help" {
				continue
			}
			code, out, errOut := execute(args...)
			if code != 0 || !strings.HasPrefix(out, "Usage: "+c.Path()) || errOut != "" {
				t.Errorf("gcrcred %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
			}
		}
	})
}

// TestOnlyTheCommandsOwnFlags: a flag of another command is a usage error
// (exit 2) that names it, not ignored.
func TestOnlyTheCommandsOwnFlags(t *testing.T) {
	for _, args := range [][]string{
		{"node", "sha256", "--dry-run", "/x"},
		{"node", "status", "--credentials", "key.json"},
		{"node", "wait", "--root", "/host"},
		{"minikube", "status", "--dry-run"},
		{"kind", "uninstall", "--credentials", "key.json"},
		{"version", "--root", "/"},
	} {
		code, out, errOut := execute(args...)
		flagWord := args[2]
		if args[0] == "version" {
			flagWord = args[1]
		}
		if code != cli.ExitUsage || out != "" || !strings.Contains(errOut, "unknown flag "+flagWord) {
			t.Errorf("gcrcred %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
	}
}

// TestDidYouMean: a mistyped command or flag is answered with the one
// meant.
func TestDidYouMean(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"versoin"}, `unknown command "versoin": did you mean version?`},
		{[]string{"configure-doker"}, "did you mean configure-docker?"},
		{[]string{"node", "instal"}, "did you mean install?"},
		{[]string{"minikube", "stauts"}, "did you mean status?"},
		{[]string{"token", "--credentails", "k.json"}, "unknown flag --credentails: did you mean --credentials?"},
		{[]string{"kubelet-config", "--registry=x"}, "did you mean --registries?"},
		{[]string{"completion", "bsh"}, "did you mean bash?"},
		// A value missing at the end: the flag as it was typed.
		{[]string{"minikube", "install", "-p"}, "minikube install: flag -p needs a value"},
		{[]string{"doctor", "--credentials"}, "doctor: flag --credentials needs a value"},
	} {
		code, _, errOut := execute(c.args...)
		if code != cli.ExitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("gcrcred %s: exit %d, want %q:\n%s", strings.Join(c.args, " "), code, c.want, errOut)
		}
	}
	if code, _, errOut := execute("frobnicate"); code != cli.ExitUsage || !strings.Contains(errOut, "want configure-docker, token") {
		t.Errorf("a word near no command: exit %d\n%s", code, errOut)
	}
}

// TestFlagsAnywhere: flags before the command's words, between them and
// after the positional argument are all the command's; "--" ends them.
func TestFlagsAnywhere(t *testing.T) {
	var got []string
	root := &cli.Command{Name: "gcrcred", Subs: []*cli.Command{{
		Name: "node", Subs: []*cli.Command{{
			Name: "sha256", MaxArgs: -1,
			Flags: func(fs *cli.FlagSet) { fs.String("root", "/", "`DIR`") },
			Run: func(c *cli.Call) int {
				got = append([]string{c.Flags.Lookup("root").Value.String()}, c.Args...)
				return 0
			},
		}},
	}}}
	for _, c := range []struct{ args, want []string }{
		{[]string{"node", "sha256", "a", "--root", "/r", "b"}, []string{"/r", "a", "b"}},
		{[]string{"--root=/r", "node", "sha256", "a"}, []string{"/r", "a"}},
		{[]string{"node", "--root", "/r", "sha256", "a"}, []string{"/r", "a"}},
		{[]string{"node", "sha256", "a", "--", "--root", "b"}, []string{"/", "a", "--root", "b"}},
	} {
		got = nil
		if code := cli.Execute(root, c.args, cli.Call{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}); code != 0 || strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%v: exit %d, got %q, want %q", c.args, code, got, c.want)
		}
	}
}

// TestCompletionBash loads `gcrcred completion bash` into bash and asks it
// what a TAB offers.
func TestCompletionBash(t *testing.T) {
	var script bytes.Buffer
	if err := cli.WriteCompletion(&script, commands(), "bash"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "gcrcred.bash")
	if err := os.WriteFile(file, script.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.json"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tools := testbin.Tools(t, "bash")
	for _, c := range []struct {
		line      string
		want, not []string
	}{
		{"gcrcred ", []string{"configure-docker", "node", "completion", "version"}, []string{"boot", "--help"}},
		{"gcrcred no", []string{"node"}, []string{"token"}},
		{"gcrcred node ", []string{"install", "uninstall", "status", "wait"}, []string{"sha256", "boot"}},
		{"gcrcred minikube install --cre", []string{"--credentials"}, nil},
		{"gcrcred minikube -p dev status --", []string{"--profile", "--minikube"}, []string{"--credentials", "--dry-run"}},
		{"gcrcred minikube install --credentials ke", []string{"key.json"}, nil},
		{"gcrcred node install --root ", nil, []string{"key.json"}},
		{"gcrcred completion ", []string{"bash", "zsh", "fish"}, nil},
		{"gcrcred doctor ", []string{"gcr.io", "us-docker.pkg.dev"}, nil},
	} {
		words := strings.Fields(c.line)
		if strings.HasSuffix(c.line, " ") {
			words = append(words, "")
		}
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, cli.ShellQuote(w))
		}
		prog := "source " + file + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
			strconv.Itoa(len(words)-1) + "\n_gcrcred\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		cmd := exec.Command(filepath.Join(tools, "bash"), "--norc", "-c", prog)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + tools}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", c.line, err, out)
		}
		got := "\n" + string(out)
		for _, w := range c.want {
			if !strings.Contains(got, "\n"+w+"\n") {
				t.Errorf("%q completes to %q, lacking %s", c.line, strings.Fields(string(out)), w)
			}
		}
		for _, w := range c.not {
			if strings.Contains(got, "\n"+w+"\n") {
				t.Errorf("%q completes to %q, with %s", c.line, strings.Fields(string(out)), w)
			}
		}
	}
}

// TestCompletionScriptsParse: the zsh and fish scripts are valid for
// their shells, where this machine has them (bash is tested above).
func TestCompletionScriptsParse(t *testing.T) {
	for _, c := range []struct{ shell, check string }{{"zsh", "-n"}, {"fish", "--no-execute"}} {
		t.Run(c.shell, func(t *testing.T) {
			var script bytes.Buffer
			if err := cli.WriteCompletion(&script, commands(), c.shell); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(script.String(), "install") || !strings.Contains(script.String(), "credentials") {
				t.Errorf("%s script lacks the commands:\n%s", c.shell, script.String())
			}
			if _, err := exec.LookPath(c.shell); err != nil {
				t.Skipf("%s is not installed here: its script's syntax is not checked", c.shell)
			}
			file := filepath.Join(t.TempDir(), "gcrcred."+c.shell)
			if err := os.WriteFile(file, script.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			tools := testbin.Tools(t, c.shell)
			cmd := exec.Command(filepath.Join(tools, c.shell), c.check, file)
			cmd.Env = []string{"PATH=" + tools, "HOME=" + t.TempDir()}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s %s: %v\n%s", c.shell, c.check, err, out)
			}
		})
	}
}

// TestCLIReference: docs/cli.md is the generated help of every command,
// and docs/design.md's command table lists every flag; `go test
// ./cmd/gcrcred -run TestCLIReference -update` rewrites them.
func TestCLIReference(t *testing.T) {
	ref, table := reference(commands().Link())
	cliMD := filepath.Join(testbin.Root(), "docs", "cli.md")
	designMD := filepath.Join(testbin.Root(), "docs", "design.md")
	design, err := os.ReadFile(designMD)
	if err != nil {
		t.Fatal(err)
	}
	begin, end := "<!-- BEGIN generated: go test ./cmd/gcrcred -run TestCLIReference -update -->\n", "<!-- END generated -->\n"
	i, j := bytes.Index(design, []byte(begin)), bytes.Index(design, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("docs/design.md lacks the generated section (%q ... %q)", begin, end)
	}
	newDesign := string(design[:i+len(begin)]) + table + string(design[j:])
	if *update {
		if err := os.WriteFile(cliMD, []byte(ref), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(designMD, []byte(newDesign), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if b, err := os.ReadFile(cliMD); err != nil || string(b) != ref {
		t.Errorf("docs/cli.md is not the generated help (%v): rerun with -update", err)
	}
	if string(design) != newDesign {
		t.Errorf("docs/design.md's command table is not current: rerun with -update")
	}
}

// reference is docs/cli.md (every visible command's help) and the table of
// commands and flags for docs/design.md.
func reference(root *cli.Command) (ref, table string) {
	var r, tb strings.Builder
	r.WriteString("# gcrcred's commands\n\nGenerated from the commands' own definitions (`go test ./cmd/gcrcred -run TestCLIReference -update`): what `gcrcred COMMAND --help` prints.\n")
	tb.WriteString("| command | flags |\n|---|---|\n")
	var walk func(c *cli.Command)
	walk = func(c *cli.Command) {
		var help bytes.Buffer
		cli.WriteHelp(&help, c)
		r.WriteString("\n## " + c.Path() + "\n\n```\n" + help.String() + "```\n")
		if len(c.Subs) == 0 {
			var flags []string
			fs := c.NewFlagSet()
			fs.VisitAll(func(f *flag.Flag) {
				if len(f.Name) == 1 {
					flags = append(flags, "`-"+f.Name+"`")
				} else {
					flags = append(flags, "`--"+f.Name+"`")
				}
			})
			if len(flags) == 0 {
				flags = []string{"none"}
			}
			tb.WriteString("| `" + c.Path() + "` | " + strings.Join(flags, " ") + " |\n")
		}
		for _, s := range c.Visible() {
			walk(s)
		}
	}
	walk(root)
	return r.String(), tb.String()
}

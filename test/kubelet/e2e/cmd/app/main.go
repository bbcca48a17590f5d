// Command app is the private test image of the e2e scenarios. With no
// arguments (or any the modes below do not take) it says which pod it runs
// in, then waits until it is told to stop. `app chroot DIR PROGRAM ARGS...`
// runs PROGRAM with DIR as its root, as an installer in a privileged pod
// does with the node's / mounted at /host; `app cat FILE...` prints files.
// Installed under the name gcrcred, it is a tripwire: it reports that it
// ran, and as whom, to the address in the file "tripwire" next to it, and
// fails. Built static and pushed to the fake registry by package cluster.
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	switch {
	case filepath.Base(os.Args[0]) == "gcrcred":
		tripwire()
	case len(os.Args) > 3 && os.Args[1] == "chroot":
		chroot(os.Args[2], os.Args[3:])
	case len(os.Args) > 2 && os.Args[1] == "cat":
		for _, f := range os.Args[2:] {
			b, err := os.ReadFile(f)
			fmt.Printf("== %s%v\n%s", f, errText(err), b)
		}
		return
	}
	host, _ := os.Hostname()
	fmt.Printf("app: running on %s as pod %s\n", host, os.Getenv("POD_NAME"))
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	sig := <-sigs
	fmt.Printf("app: %v, exiting\n", sig)
}

func chroot(dir string, argv []string) {
	if err := syscall.Chroot(dir); err != nil {
		fmt.Fprintf(os.Stderr, "app: chroot %s: %v\n", dir, err)
		os.Exit(1)
	}
	if err := os.Chdir("/"); err != nil {
		fmt.Fprintf(os.Stderr, "app: %v\n", err)
		os.Exit(1)
	}
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	err := syscall.Exec(argv[0], argv, env)
	fmt.Fprintf(os.Stderr, "app: exec %s: %v\n", argv[0], err)
	os.Exit(1)
}

// tripwire tells the listener named in ./tripwire (host:port) who ran it
// and how: wherever it runs (on the node, in a pod on the host's network,
// under a read-only root), a connection gets out.
func tripwire() {
	exe, _ := os.Executable()
	addr, err := os.ReadFile(filepath.Join(filepath.Dir(exe), "tripwire"))
	if err == nil {
		if conn, err := net.DialTimeout("tcp", strings.TrimSpace(string(addr)), 5*time.Second); err == nil {
			fmt.Fprintf(conn, "uid %d ran %s %s", os.Getuid(), exe, strings.Join(os.Args[1:], " "))
			conn.Close()
		}
	}
	fmt.Fprintln(os.Stderr, "not gcrcred: a program of another user, run by mistake")
	os.Exit(1)
}

func errText(err error) string {
	if err != nil {
		return ": " + err.Error()
	}
	return ""
}

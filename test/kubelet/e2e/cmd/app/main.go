// Command app is the private test image of the e2e scenarios. With no
// arguments it says which pod it runs in, then waits until it is told to
// stop. `app chroot DIR PROGRAM ARGS...` runs PROGRAM with DIR as its root,
// as an installer in a privileged pod does with the node's / mounted at
// /host. Built static and pushed to the fake registry by package cluster.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 3 && os.Args[1] == "chroot" {
		if err := syscall.Chroot(os.Args[2]); err != nil {
			fmt.Fprintf(os.Stderr, "app: chroot %s: %v\n", os.Args[2], err)
			os.Exit(1)
		}
		if err := os.Chdir("/"); err != nil {
			fmt.Fprintf(os.Stderr, "app: %v\n", err)
			os.Exit(1)
		}
		env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
		err := syscall.Exec(os.Args[3], os.Args[3:], env)
		fmt.Fprintf(os.Stderr, "app: exec %s: %v\n", os.Args[3], err)
		os.Exit(1)
	}
	host, _ := os.Hostname()
	fmt.Printf("app: running on %s as pod %s\n", host, os.Getenv("POD_NAME"))
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	sig := <-sigs
	fmt.Printf("app: %v, exiting\n", sig)
}

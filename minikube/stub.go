package minikube

import "io"

// Run is `gcrcred minikube install|uninstall|status`.
func Run(args []string, stdout, stderr io.Writer) int { panic("TODO") }

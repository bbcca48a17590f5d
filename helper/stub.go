package helper

import "io"

func Serve(args []string, stdin io.Reader, stdout, stderr io.Writer) int { panic("TODO") }
func RunConfigureDocker(args []string, stdout, stderr io.Writer) int     { panic("TODO") }
func RunToken(args []string, stdout, stderr io.Writer) int              { panic("TODO") }
func RunDoctor(args []string, stdout, stderr io.Writer) int             { panic("TODO") }

package main

import (
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// cat [FILE]...: the files, or stdin ("-" or none), to stdout.
func cat(args []string) int {
	_, files, err := options("cat", args, "", "")
	if err != nil {
		return fail("cat", "%v", err)
	}
	if len(files) == 0 {
		files = []string{"-"}
	}
	code := 0
	for _, f := range files {
		var in io.Reader = os.Stdin
		if f != "-" {
			file, err := os.Open(f)
			if err != nil {
				code = fail("cat", "can't open '%s': %v", f, errors.Unwrap(err))
				continue
			}
			in = file
			defer file.Close()
		}
		if _, err := io.Copy(os.Stdout, in); err != nil {
			code = fail("cat", "%s: %v", f, err)
		}
	}
	return code
}

// chmod [-R] MODE FILE...: octal modes only (all node commands use).
func chmod(args []string) int {
	set, rest, err := options("chmod", args, "R", "")
	if err != nil || len(rest) < 2 {
		return fail("chmod", "usage: chmod [-R] OCTAL-MODE FILE... %v", errOrEmpty(err))
	}
	mode, err := strconv.ParseUint(rest[0], 8, 32)
	if err != nil || mode > 0o7777 {
		return fail("chmod", "invalid mode '%s' (the fake node userland takes octal modes)", rest[0])
	}
	code := 0
	for _, f := range rest[1:] {
		apply := func(p string) error { return syscall.Chmod(p, uint32(mode)) }
		if has(set, 'R') {
			err = filepath.WalkDir(f, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.Type()&fs.ModeSymlink != 0 {
					return nil
				}
				return apply(p)
			})
		} else {
			err = apply(f)
		}
		if err != nil {
			code = fail("chmod", "%s: %v", f, unwrapPath(err))
		}
	}
	return code
}

// ln [-sfn] TARGET LINK: a symbolic (-s) or hard link; -f replaces LINK.
func ln(args []string) int {
	set, rest, err := options("ln", args, "sfn", "")
	if err != nil || len(rest) != 2 {
		return fail("ln", "usage: ln [-sfn] TARGET LINK %v", errOrEmpty(err))
	}
	target, link := rest[0], rest[1]
	if fi, err := os.Stat(link); err == nil && fi.IsDir() && !has(set, 'n') {
		link = filepath.Join(link, filepath.Base(target))
	}
	if has(set, 'f') {
		if err := os.Remove(link); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fail("ln", "%s: %v", link, unwrapPath(err))
		}
	}
	if has(set, 's') {
		err = os.Symlink(target, link)
	} else {
		err = os.Link(target, link)
	}
	if err != nil {
		return fail("ln", "%s: %v", link, unwrapPath(err))
	}
	return 0
}

// mv [-f] SRC DST: a rename (into DST if it is a directory).
func mv(args []string) int {
	_, rest, err := options("mv", args, "f", "")
	if err != nil || len(rest) != 2 {
		return fail("mv", "usage: mv [-f] SOURCE DEST %v", errOrEmpty(err))
	}
	src, dst := rest[0], rest[1]
	if fi, err := os.Stat(dst); err == nil && fi.IsDir() {
		dst = filepath.Join(dst, filepath.Base(src))
	}
	if err := os.Rename(src, dst); err != nil {
		return fail("mv", "can't rename '%s': %v", src, unwrapPath(err))
	}
	return 0
}

// rm [-frR] FILE...: -r removes directories (never following a link), -f
// is quiet about what does not exist.
func rm(args []string) int {
	set, rest, err := options("rm", args, "frR", "")
	if err != nil {
		return fail("rm", "%v", err)
	}
	force, recursive := has(set, 'f'), has(set, 'r') || has(set, 'R')
	code := 0
	for _, f := range rest {
		fi, err := os.Lstat(f)
		switch {
		case errors.Is(err, fs.ErrNotExist) && force:
			continue
		case err != nil:
			code = fail("rm", "can't remove '%s': %v", f, unwrapPath(err))
			continue
		case fi.IsDir() && !recursive:
			code = fail("rm", "'%s' is a directory", f)
			continue
		}
		if recursive {
			err = os.RemoveAll(f)
		} else {
			err = os.Remove(f)
		}
		if err != nil {
			code = fail("rm", "can't remove '%s': %v", f, unwrapPath(err))
		}
	}
	return code
}

// mktemp [-d] [-p DIR] [TEMPLATE]: a new file (0600) or directory (0700)
// from TEMPLATE, whose trailing XXXXXX become random letters; a TEMPLATE
// without a slash goes into -p DIR, $TMPDIR or /tmp. Prints its path.
func mktemp(args []string) int {
	set, rest, err := options("mktemp", args, "dqt", "p")
	if err != nil || len(rest) > 1 {
		return fail("mktemp", "usage: mktemp [-dqt] [-p DIR] [TEMPLATE] %v", errOrEmpty(err))
	}
	template := "tmp.XXXXXX"
	if len(rest) == 1 {
		template = rest[0]
	}
	if !strings.HasSuffix(template, "XXXXXX") {
		return fail("mktemp", "%s: template must end in XXXXXX", template)
	}
	if dir, ok := set['p']; ok || !strings.Contains(template, "/") || has(set, 't') {
		if !ok {
			dir = os.Getenv("TMPDIR")
		}
		if dir == "" {
			dir = "/tmp"
		}
		template = filepath.Join(dir, filepath.Base(template))
	}
	prefix := strings.TrimSuffix(template, "XXXXXX")
	for try := 0; try < 100; try++ {
		p := prefix + randomLetters(6)
		if has(set, 'd') {
			err = os.Mkdir(p, 0o700)
		} else {
			var f *os.File
			if f, err = os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
				err = f.Close()
			}
		}
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			if has(set, 'q') {
				return 1
			}
			return fail("mktemp", "%s: %v", p, unwrapPath(err))
		}
		os.Stdout.WriteString(p + "\n")
		return 0
	}
	return fail("mktemp", "%s: no free name", template)
}

func randomLetters(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

// unwrapPath drops the operation and path of a *PathError (the message
// names the file already).
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

func errOrEmpty(err error) string {
	if err == nil {
		return ""
	}
	return "(" + err.Error() + ")"
}

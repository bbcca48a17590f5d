//go:build !windows

// Package fileowner reads who owns a file. gcrcred believes only files and
// directories that belong to the right user, so several packages ask.
package fileowner

import (
	"io/fs"
	"syscall"
)

// Of returns the owner and group of fi; ok is false where the platform does
// not say (then nothing should be believed).
func Of(fi fs.FileInfo) (uid, gid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(st.Uid), int(st.Gid), true
}

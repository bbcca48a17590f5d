//go:build !linux

package launcher

import "errors"

// The launcher build exists for Linux only; elsewhere gcrcred is the full
// program and never gets here.
func execFull([]string, []byte, bool) error {
	return errors.New("the launcher build is Linux-only")
}

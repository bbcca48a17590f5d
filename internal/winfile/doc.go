// Package winfile is, on Windows, what gcrcred's Unix code gets from
// O_NOFOLLOW, fstat and the file mode: open a file or directory without
// following a symbolic link or junction, and believe it only if it belongs
// to this user and no one else may write to it (its owner SID and DACL,
// read from the opened handle). It is empty on other systems.
package winfile

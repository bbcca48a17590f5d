package main

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// member is one file of an archive, ready to be written.
type member struct {
	Name     string
	Path     string // the file's content (empty for a link)
	Mode     fs.FileMode
	Linkname string // a symbolic link to this name
}

// writeArchive writes members (in the order given: sorted by name) to
// path as a tar.gz or a zip. The bytes depend only on the members' names,
// contents and modes and on mtime: owner root, fixed times, no gzip name or
// time, a fixed compression level, so the same commit gives the same
// archive.
func writeArchive(path, format string, members []member, mtime time.Time) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	w := bufio.NewWriter(f)
	switch format {
	case "tar.gz":
		err = writeTarGz(w, members, mtime)
	case "zip":
		err = writeZip(w, members, mtime)
	default:
		err = fmt.Errorf("archive format %q: build/release writes tar.gz and zip", format)
	}
	if err != nil {
		return err
	}
	return w.Flush()
}

func writeTarGz(w io.Writer, members []member, mtime time.Time) error {
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	for _, m := range members {
		hdr := &tar.Header{
			Name: m.Name, Mode: int64(m.Mode.Perm()), ModTime: mtime,
			Uname: "root", Gname: "root", Format: tar.FormatUSTAR,
		}
		if m.Linkname != "" {
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, m.Linkname, 0o777
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			continue
		}
		data, err := os.ReadFile(m.Path)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(data))
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeZip(w io.Writer, members []member, mtime time.Time) error {
	zw := zip.NewWriter(w)
	for _, m := range members {
		if m.Linkname != "" {
			return fmt.Errorf("%s: a zip holds no symbolic links (Windows archives get copies)", m.Name)
		}
		hdr := &zip.FileHeader{Name: m.Name, Method: zip.Deflate, Modified: mtime}
		hdr.SetMode(m.Mode.Perm())
		fw, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		src, err := os.Open(m.Path)
		if err != nil {
			return err
		}
		_, err = io.Copy(fw, src)
		src.Close()
		if err != nil {
			return err
		}
	}
	return zw.Close()
}

// readArchive unpacks path (tar.gz or zip) into dir and returns what it
// holds: name -> entry (regular files and links only; anything else, or a
// name leaving dir, is an error).
func readArchive(path, dir string) (map[string]member, error) {
	out := map[string]member{}
	add := func(name string, mode fs.FileMode, link string, r io.Reader) error {
		if !filepath.IsLocal(name) {
			return fmt.Errorf("%s: entry %q leaves the archive's directory", path, name)
		}
		if _, dup := out[name]; dup {
			return fmt.Errorf("%s: %s twice", path, name)
		}
		m := member{Name: name, Mode: mode, Linkname: link}
		if link == "" {
			m.Path = filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(m.Path), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(m.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, r)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
		out[name] = m
		return nil
	}
	if filepath.Ext(path) == ".zip" {
		zr, err := zip.OpenReader(path)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		for _, f := range zr.File {
			if !f.Mode().IsRegular() {
				return nil, fmt.Errorf("%s: %s is not a regular file", path, f.Name)
			}
			rc, err := f.Open()
			if err != nil {
				return nil, err
			}
			err = add(f.Name, f.Mode().Perm(), "", rc)
			rc.Close()
			if err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		switch hdr.Typeflag {
		case tar.TypeReg:
			err = add(hdr.Name, fs.FileMode(hdr.Mode).Perm(), "", tr)
		case tar.TypeSymlink:
			err = add(hdr.Name, 0o777, hdr.Linkname, nil)
		default:
			err = fmt.Errorf("%s: %s is neither a file nor a symbolic link", path, hdr.Name)
		}
		if err != nil {
			return nil, err
		}
	}
}

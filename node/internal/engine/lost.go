package engine

import (
	"errors"
	"io/fs"
	"path"
	"slices"

	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/internal/providerconfig"
	"github.com/gcrcred/gcrcred/internal/version"
	"github.com/gcrcred/gcrcred/node/internal/flavour"
	"github.com/gcrcred/gcrcred/node/internal/record"
)

// lostRecord stands in for the record a node lost (a minikube VM's root is
// in RAM; file sync brings gcrcred's files back, not its record): it names
// what is gcrcred's by path and content, as if install had created it. A
// file at gcrcred's path whose content does not say it is gcrcred's may be
// one a first uninstall gave back: it stays, and the output says so.
func (in *run) lostRecord() *record.Record {
	s, r := in.s, in.r
	rec := &record.Record{Flavour: s.Flavour, Service: s.Service.Name, DockerUsers: s.DockerUsers}
	ours := func(p, role string, unit bool) {
		if cur, err := r.ReadState(p); err == nil && cur.Exists {
			rec.Files = append(rec.Files, &record.File{Path: p, Role: role, Unit: unit, Written: "unknown"})
		}
	}
	// Every set-up's flags files that hold gcrcred's flags: the set-up may
	// not be detected any more.
	for _, fl := range flavour.All() {
		for _, f := range fl.FlagsFiles() {
			if c, err := r.ReadText(f.Path); err == nil && hasAnyOurFlag(f.Args(c)) {
				rec.Files = append(rec.Files, &record.File{Path: f.Path, Role: record.RoleFlags, Unit: f.IsUnit(), FlagVar: f.Var, Existed: true, Written: "unknown"})
			}
		}
	}
	if s.Config != nodelayout.ProviderConfig {
		if c, err := r.ReadText(s.Config); err == nil {
			if doc, err := providerconfig.Parse([]byte(c), s.Config); err == nil && doc.Has() {
				rec.Files = append(rec.Files, &record.File{Path: s.Config, Role: record.RoleConfig, Existed: len(doc.Names()) > 1, Written: "unknown"})
			}
		}
		in.lostBinary(rec, s.Plugin())
	}
	for _, f := range []string{nodelayout.BootDropIn, nodelayout.Command, nodelayout.DockerHelper} {
		if c, err := r.ReadText(f); err == nil && nodelayout.HasMarker(c) {
			role := record.RoleFile
			if f == nodelayout.BootDropIn {
				role = record.RoleBoot
			}
			ours(f, role, f == nodelayout.BootDropIn)
		}
	}
	in.lostBinary(rec, nodelayout.Binary)
	if c, err := r.ReadText(nodelayout.ProviderConfig); err == nil {
		if doc, err := providerconfig.Parse([]byte(c), nodelayout.ProviderConfig); err == nil && slices.Equal(doc.Names(), []string{nodelayout.PluginName}) {
			ours(nodelayout.ProviderConfig, record.RoleFile, false)
		} else {
			in.n.Say("left %s: it is not a provider config of gcrcred's alone", nodelayout.ProviderConfig)
		}
	}
	// The credentials and the workload identity configuration are Google's
	// JSON, with no room for a marker: without a record they are gcrcred's
	// only where something puts gcrcred's files back without it (minikube's
	// file sync); elsewhere they may be a file install replaced and a first
	// uninstall gave back, and are left.
	for _, f := range []string{nodelayout.Credentials, nodelayout.WorkloadIdentity} {
		if s.FilesOutliveRecord {
			ours(f, record.RoleFile, false)
		} else if r.Exists(f) {
			in.n.Say("left %s: without the install record gcrcred cannot tell it is its own; remove it yourself if it is", f)
		}
	}
	rec.Dirs = []string{path.Dir(nodelayout.BinDir), nodelayout.BinDir, nodelayout.ConfigDir, nodelayout.StateDir}
	return rec
}

// lostBinary names the program at p as gcrcred's when its Go build
// information says it is a gcrcred build (read through the root, never
// run); another program there stays.
func (in *run) lostBinary(rec *record.Record, p string) {
	f, _, err := in.r.OpenFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err == nil {
		defer f.Close()
		_, err = version.ReadFrom(f, p)
	}
	if err != nil {
		in.n.Say("left %s: %v", p, err)
		return
	}
	rec.Files = append(rec.Files, &record.File{Path: p, Role: record.RoleFile, Written: "unknown"})
}

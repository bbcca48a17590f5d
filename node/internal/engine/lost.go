package engine

import (
	"path"

	"github.com/gcrcred/gcrcred/internal/nodelayout"
	"github.com/gcrcred/gcrcred/internal/providerconfig"
	"github.com/gcrcred/gcrcred/node/internal/flavour"
	"github.com/gcrcred/gcrcred/node/internal/record"
)

// lostRecord stands in for the record a node lost (a minikube VM's root is
// in RAM; file sync brings gcrcred's files back, not its record): it names
// what is gcrcred's by path and content, as if install had created it.
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
		ours(s.Plugin(), record.RoleFile, false)
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
	for _, f := range []string{nodelayout.Binary, nodelayout.Credentials, nodelayout.WorkloadIdentity, nodelayout.ProviderConfig} {
		ours(f, record.RoleFile, false)
	}
	rec.Dirs = []string{path.Dir(nodelayout.BinDir), nodelayout.BinDir, nodelayout.ConfigDir, nodelayout.StateDir}
	return rec
}

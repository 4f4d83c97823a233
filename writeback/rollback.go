package writeback

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"strings"
	"testing/fstest"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/fieldedit"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
)

// Loader loads a tree into a desired state, as the reconciler does (in
// its isolated child process).
type Loader func(ctx context.Context, files fs.FS) (*schema.DesiredState, error)

// maxChangedFiles bounds the files a rollback tries one by one: each try is
// a load of the whole tree.
const maxChangedFiles = 64

// FindRevision returns the newest accepted revision of revs (newest first,
// as the journal lists them) that declared release for service.
func FindRevision(revs []journal.Revision, service, release string) (journal.Revision, error) {
	for _, r := range revs {
		if r.Verdict == api.RevisionAccepted && r.Releases[service] == release {
			return r, nil
		}
	}
	return journal.Revision{}, fmt.Errorf("no accepted revision in the journal declares release %s of %s", short(release), service)
}

// Rollback returns the files to change in head so that service is declared
// as old declares it, every other service, target and the pipeline staying
// as head has them. It sets, adds and removes the service's fields one by
// one where head's files write them (package fieldedit), so a file that
// also declares other services keeps their lines as they are. The edited
// tree is loaded to check the result; what the edits cannot reach (a field
// written as an expression, or through a pattern) is refused with the place
// to edit by hand. It returns the desired state of the edited tree, as load
// gave it.
func Rollback(ctx context.Context, load Loader, head, old fs.FS, service string) (map[string][]byte, *schema.DesiredState, error) {
	headDS, err := load(ctx, head)
	if err != nil {
		return nil, nil, fmt.Errorf("load the head: %w", err)
	}
	oldDS, err := load(ctx, old)
	if err != nil {
		return nil, nil, fmt.Errorf("load the earlier revision: %w", err)
	}
	want, ok := oldDS.Services[service]
	if !ok {
		return nil, nil, fmt.Errorf("the earlier revision declares no service %s", service)
	}
	if sameService(headDS.Services[service], want) {
		return nil, nil, fmt.Errorf("the head already declares %s as the earlier revision did: nothing to roll back", service)
	}
	from, err := shape(headDS.Services[service])
	if err != nil {
		return nil, nil, err
	}
	to, err := shape(want)
	if err != nil {
		return nil, nil, err
	}
	changes := fieldedit.Diff(fieldedit.Path{"services", service}, from, to)
	tree, err := mapFS(head)
	if err != nil {
		return nil, nil, err
	}
	files := fieldedit.Files{}
	for p, f := range tree {
		files[p] = f.Data
	}
	edits, err := fieldedit.Apply(files, changes)
	if err != nil {
		return nil, nil, fmt.Errorf("roll %s back by hand: %w", service, err)
	}
	for p, data := range edits {
		tree[p] = &fstest.MapFile{Data: data, Mode: 0o644}
	}
	ds, err := load(ctx, tree)
	if err != nil {
		return nil, nil, fmt.Errorf("the tree with %s's fields set back does not load (%s); edit it by hand: %w", service, describe(changes), err)
	}
	if !sameOthers(ds, headDS, service) || !sameService(ds.Services[service], want) {
		return nil, nil, fmt.Errorf("setting %s's fields back (%s) does not give the earlier declaration: it is written in part through patterns or other files; edit it by hand", service, describe(changes))
	}
	return edits, ds, nil
}

// shape is a service as JSON decodes it into an any, without what the
// reconciler adds (the secrets' digest) or what the key gives (the name).
func shape(s schema.Service) (any, error) {
	name := s.Name
	s.SecretsDigest, s.Name = "", ""
	out, err := fieldedit.Shape(s)
	if err != nil {
		return nil, fmt.Errorf("encode service %s: %w", name, err)
	}
	return out, nil
}

func describe(changes []fieldedit.Change) string {
	parts := make([]string, len(changes))
	for i, c := range changes {
		parts[i] = c.String()
	}
	return strings.Join(parts, "; ")
}

// sameService compares two declarations of a service, leaving out what
// the reconciler adds (the secrets' digest).
func sameService(a, b schema.Service) bool {
	a.SecretsDigest, b.SecretsDigest = "", ""
	return sameJSON(a, b)
}

// sameOthers reports whether a and b declare the same targets, pipeline
// and services other than service.
func sameOthers(a, b *schema.DesiredState, service string) bool {
	strip := func(ds *schema.DesiredState) schema.DesiredState {
		c := *ds
		c.Services = maps.Clone(ds.Services)
		delete(c.Services, service)
		return c
	}
	return sameJSON(strip(a), strip(b))
}

func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// mapFS copies the files of a tree (a snapshot, already bounded in size)
// into memory.
func mapFS(files fs.FS) (fstest.MapFS, error) {
	out := fstest.MapFS{}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		out[p] = &fstest.MapFile{Data: data, Mode: 0o644}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the tree: %w", err)
	}
	return out, nil
}

func short(id string) string { return id[:min(12, len(id))] }

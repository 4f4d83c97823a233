package writeback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"testing/fstest"

	"github.com/durable-delivery/durable/api"
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
// as head has them. It restores whole files of old, one at a time, keeping
// a file only when the tree still loads and nothing but service changed;
// when service's fields share a file with another change since old, it is
// refused with the files to edit by hand. It returns the desired state of
// the tree with the files changed too, as load gave it.
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
	changed, err := changedFiles(head, old)
	if err != nil {
		return nil, nil, err
	}
	if len(changed) > maxChangedFiles {
		return nil, nil, fmt.Errorf("%d files differ between the head and the earlier revision (at most %d are tried): edit %s by hand", len(changed), maxChangedFiles, service)
	}
	tree, err := mapFS(head)
	if err != nil {
		return nil, nil, err
	}
	edits := map[string][]byte{}
	current := headDS.Services[service]
	for _, p := range changed {
		data, err := fs.ReadFile(old, p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("read %s of the earlier revision: %w", p, err)
		}
		trial := maps.Clone(tree)
		if data == nil {
			delete(trial, p)
		} else {
			trial[p] = &fstest.MapFile{Data: data, Mode: 0o644}
		}
		ds, err := load(ctx, trial)
		if err != nil || !sameOthers(ds, headDS, service) || sameService(ds.Services[service], current) {
			continue // the file does not load alone, changes more, or nothing of service
		}
		tree, edits[p], current = trial, data, ds.Services[service]
		if sameService(current, want) {
			return edits, ds, nil
		}
	}
	return nil, nil, fmt.Errorf("%s's fields share files with other changes since the earlier revision (%s): edit them by hand", service, strings.Join(changed, ", "))
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

// changedFiles lists, sorted, the paths whose content differs between a
// and b, or that only one of them has.
func changedFiles(a, b fs.FS) ([]string, error) {
	fa, err := mapFS(a)
	if err != nil {
		return nil, err
	}
	fb, err := mapFS(b)
	if err != nil {
		return nil, err
	}
	var out []string
	for p, f := range fa {
		if g, ok := fb[p]; !ok || !bytes.Equal(f.Data, g.Data) {
			out = append(out, p)
		}
	}
	for p := range fb {
		if _, ok := fa[p]; !ok {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out, nil
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

package writeback

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"testing/fstest"

	"github.com/durable-delivery/durable/fieldedit"
	"github.com/durable-delivery/durable/schema"
)

// Release returns the files to change in tree so that service runs
// artifact, and the artifact it declared before. The places that set the
// service's artifact are found through CUE's positions (schema.Origins):
// each must be a literal the service's own declaration writes, in a CUE or
// YAML file, which fieldedit rewrites in place, every other byte kept. A
// value from a template, a comprehension or an expression is refused with
// its positions, as is an edit after which the tree does not load or
// declares anything else differently.
func Release(ctx context.Context, load Loader, tree fs.FS, service, artifact string) (map[string][]byte, string, error) {
	head, err := load(ctx, tree)
	if err != nil {
		return nil, "", fmt.Errorf("load the head: %w", err)
	}
	svc, ok := head.Services[service]
	if !ok {
		return nil, "", fmt.Errorf("the repository declares no service %q (it declares %s)", service, strings.Join(slices.Sorted(maps.Keys(head.Services)), ", "))
	}
	if svc.Artifact == artifact {
		return nil, "", fmt.Errorf("%s already runs %s: nothing to release", service, artifact)
	}
	path := fieldedit.Path{"services", service, "artifact"}
	origins, err := checkOrigins(tree, path)
	if err != nil {
		return nil, "", err
	}
	mem, err := mapFS(tree)
	if err != nil {
		return nil, "", err
	}
	files := fieldedit.Files{}
	for p, f := range mem {
		files[p] = f.Data
	}
	edits, err := fieldedit.Apply(files, []fieldedit.Change{{Path: path, Value: artifact}})
	if err != nil {
		return nil, "", fmt.Errorf("write %s by hand: %w", path, err)
	}
	if err := editedWhereWritten(edits, origins); err != nil {
		return nil, "", fmt.Errorf("%s: %w; edit it by hand", path, err)
	}
	for p, data := range edits {
		mem[p] = &fstest.MapFile{Data: data, Mode: 0o644}
	}
	ds, err := load(ctx, mem)
	if err != nil {
		return nil, "", fmt.Errorf("with %s set to %s the repository does not load: %w", path, artifact, err)
	}
	want := svc
	want.Artifact = artifact
	if !sameOthers(ds, head, service) || !sameService(ds.Services[service], want) {
		return nil, "", fmt.Errorf("setting %s to %s changes more than the artifact; edit it by hand", path, artifact)
	}
	return edits, svc.Artifact, nil
}

// checkOrigins returns the places that write the field, refusing one that
// a template, a comprehension, an expression or another package sets,
// naming every such place.
func checkOrigins(tree fs.FS, path fieldedit.Path) ([]schema.Origin, error) {
	origins, err := schema.Origins(tree, path...)
	if err != nil {
		return nil, fmt.Errorf("find where %s is written: %w", path, err)
	}
	var refused []string
	for _, s := range origins {
		if s.Form != schema.FormLiteral {
			refused = append(refused, s.String())
		}
	}
	switch {
	case len(refused) > 0:
		return nil, fmt.Errorf("%s is not written as a literal of the service's own declaration: it comes from %s; write the service's artifact as \"REPOSITORY@sha256:...\" there (or change it where it is computed, by hand)", path, strings.Join(refused, ", "))
	case len(origins) == 0:
		return nil, fmt.Errorf("no file of the repository sets %s", path)
	}
	return origins, nil
}

// editedWhereWritten checks that the edits changed the files CUE says
// write the field, and no other.
func editedWhereWritten(edits map[string][]byte, origins []schema.Origin) error {
	want := map[string]bool{}
	for _, o := range origins {
		want[o.File] = true
	}
	for f := range edits {
		if !want[f] {
			return fmt.Errorf("the edit changed %s, which CUE does not list as writing it", f)
		}
		delete(want, f)
	}
	for f := range want {
		return fmt.Errorf("the edit left %s unchanged, which writes it", f)
	}
	return nil
}

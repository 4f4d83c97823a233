package queue

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/durable-delivery/durable/fieldedit"
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/source"
)

// fieldMerger merges by field path what Git's text merge cannot: each
// side's changes from the fork point, as field paths with values, the
// proposal's written onto main's files where neither side changed a field
// the other changed differently.
type fieldMerger struct {
	repo repository
	load func(context.Context, fs.FS) (*schema.DesiredState, error)
	// loaded are trees already loaded, by tree hash: a tree's desired
	// state depends on its files alone, and the main a proposal merges
	// onto is the tree the proposal ahead of it merged to.
	loaded *treeCache
}

// treeCache holds the sides of recent merges, by tree hash.
type treeCache struct {
	mu    sync.Mutex
	sides map[string]side
}

// maxCachedTrees bounds treeCache.
const maxCachedTrees = 32

// mergeInput is a conflicted merge: the fork point, the two sides, the
// tree Git merged (markers in the conflicted files) and those files.
type mergeInput struct {
	base, ours, theirs, merged string
	conflicted                 []string
}

// side is one commit of a merge, read and loaded.
type side struct {
	commit string
	files  fieldedit.Files
	state  any
}

// merge returns the tree of the merge by field path, or the verdict that
// ejects: a real conflict, a file that is not desired state, a change
// fieldedit cannot write in place.
func (m fieldMerger) merge(ctx context.Context, in mergeInput) (string, verdict, error) {
	for _, f := range in.conflicted {
		if !fieldedit.Editable(f) {
			return "", fail(ReasonConflict, fmt.Sprintf("%s changed on main (%s) and in the proposal (%s) where Git cannot merge it, and it is not a desired-state file at the root, which Durable merges by field path: rebase the branch by hand",
				f, short(in.ours), short(in.theirs))), nil
		}
	}
	var sides [3]side
	for i, c := range []string{in.base, in.ours, in.theirs} {
		s, err := m.side(ctx, c)
		if err != nil {
			return "", fail(ReasonConflict, fmt.Sprintf("Git's merge conflicts in %s and commit %s cannot be merged by field path: %v", strings.Join(in.conflicted, ", "), short(c), err)), nil
		}
		sides[i] = s
	}
	base, ours, theirs := sides[0], sides[1], sides[2]
	mainChanges := fieldedit.Diff(nil, base.state, ours.state)
	changes := fieldedit.Diff(nil, base.state, theirs.state)
	if v := clashes(mainChanges, changes, ours, theirs); v.failed() {
		return "", v, nil
	}
	want, err := fieldedit.Shape(ours.state) // a copy: sides are shared through the cache
	if err != nil {
		return "", verdict{}, err
	}
	for _, c := range changes {
		want = applyChange(want, c.Path, c)
	}
	return m.write(ctx, in, ours, want)
}

// write makes main's files (Git's merge where it did not conflict) hold
// want, and checks that they load as want.
func (m fieldMerger) write(ctx context.Context, in mergeInput, ours side, want any) (string, verdict, error) {
	resolved := map[string][]byte{}
	for _, f := range in.conflicted {
		data, ok := ours.files[f]
		if !ok {
			return "", fail(ReasonConflict, fmt.Sprintf("%s: added on both sides with different content; rebase the branch by hand", f)), nil
		}
		resolved[f] = data
	}
	draft, err := m.edit(in.merged, in.ours, resolved)
	if err != nil {
		return "", verdict{}, err
	}
	have, err := m.side(ctx, draft)
	if err != nil {
		return "", fail(ReasonConflict, fmt.Sprintf("main's text with Git's merge elsewhere does not load (%v); rebase the branch by hand", err)), nil
	}
	edits, err := fieldedit.Apply(have.files, fieldedit.Diff(nil, have.state, want))
	if err != nil {
		return "", fail(ReasonConflict, "merge by field path: "+err.Error()), nil
	}
	for f, data := range edits {
		resolved[f] = data
	}
	final, err := m.edit(in.merged, in.ours, resolved)
	if err != nil {
		return "", verdict{}, err
	}
	got, err := m.side(ctx, final)
	if err != nil {
		return "", fail(ReasonConflict, fmt.Sprintf("the proposal's fields written onto main's files do not load: a field written through a template or a comprehension cannot be edited in place; rebase the branch by hand: %v", err)), nil
	}
	if rest := fieldedit.Diff(nil, got.state, want); len(rest) > 0 {
		return "", fail(ReasonConflict, fmt.Sprintf("the proposal's fields written onto main's files do not give the merge (%s still differs): they are written through a pattern or a template; rebase the branch by hand", rest[0].Path)), nil
	}
	repo, err := m.repo.open()
	if err != nil {
		return "", verdict{}, err
	}
	c, err := repo.CommitObject(plumbing.NewHash(final))
	if err != nil {
		return "", verdict{}, err
	}
	return c.TreeHash.String(), verdict{}, nil
}

// edit writes an unsigned draft commit (on parent, moving no branch) of
// tree with files replaced, which side then reads as a snapshot is read.
func (m fieldMerger) edit(tree, parent string, files map[string][]byte) (string, error) {
	repo, err := m.repo.open()
	if err != nil {
		return "", err
	}
	t, err := repo.TreeObject(plumbing.NewHash(tree))
	if err != nil {
		return "", fmt.Errorf("tree %s: %w", short(tree), err)
	}
	h, err := source.EditTree(repo, t, files)
	if err != nil {
		return "", fmt.Errorf("edit tree %s: %w", short(tree), err)
	}
	return m.repo.commit(h.String(), parent, "durable queue: draft of a merge by field path\n", nil)
}

// side reads commit within the snapshot bounds and loads it, or takes
// what an earlier load of the same tree gave.
func (m fieldMerger) side(ctx context.Context, commit string) (side, error) {
	snap, err := source.ReadLocal(m.repo.dir, commit)
	if err != nil {
		return side{}, err
	}
	m.loaded.mu.Lock()
	s, ok := m.loaded.sides[snap.Tree]
	m.loaded.mu.Unlock()
	if ok {
		s.commit = commit
		return s, nil
	}
	if s, err = m.read(ctx, snap); err != nil {
		return side{}, err
	}
	s.commit = commit
	m.loaded.mu.Lock()
	defer m.loaded.mu.Unlock()
	if len(m.loaded.sides) >= maxCachedTrees {
		clear(m.loaded.sides)
	}
	m.loaded.sides[snap.Tree] = s
	return s, nil
}

// read loads a snapshot's desired state and reads its root files.
func (m fieldMerger) read(ctx context.Context, snap source.Snapshot) (side, error) {
	ds, err := m.load(ctx, snap.Files)
	if err != nil {
		return side{}, err
	}
	state, err := fieldedit.Shape(ds)
	if err != nil {
		return side{}, err
	}
	files := fieldedit.Files{}
	entries, err := fs.ReadDir(snap.Files, ".")
	if err != nil {
		return side{}, err
	}
	for _, e := range entries {
		if e.Type().IsRegular() && fieldedit.Editable(e.Name()) {
			if files[e.Name()], err = fs.ReadFile(snap.Files, e.Name()); err != nil {
				return side{}, err
			}
		}
	}
	return side{files: files, state: state}, nil
}

// clashes finds the fields both sides changed, one inside the other or the
// same one, to different values: each is a real conflict, named with its
// places on both sides and the commits.
func clashes(mainChanges, changes []fieldedit.Change, ours, theirs side) verdict {
	var out []string
	for _, t := range changes {
		for _, o := range mainChanges {
			if !nested(t.Path, o.Path) || (slices.Equal(t.Path, o.Path) && sameChange(t, o)) {
				continue
			}
			out = append(out, fmt.Sprintf("field %s: main (%s) changed it (%s) at %s; the proposal (%s) changed it (%s) at %s",
				t.Path, short(ours.commit), o, where(ours.files, o.Path), short(theirs.commit), t, where(theirs.files, t.Path)))
		}
	}
	if len(out) == 0 {
		return verdict{}
	}
	return fail(ReasonConflict, out...)
}

// nested reports whether one path is the other or lies inside it.
func nested(a, b fieldedit.Path) bool {
	n := min(len(a), len(b))
	return slices.Equal(a[:n], b[:n])
}

func sameChange(a, b fieldedit.Change) bool { return a.String() == b.String() }

func where(files fieldedit.Files, p fieldedit.Path) string {
	for len(p) > 0 {
		if at := fieldedit.Where(files, p); len(at) > 0 {
			return strings.Join(at, ", ")
		}
		p = p[:len(p)-1] // written as part of its parent
	}
	return "(no file writes it: a default or a pattern)"
}

// applyChange returns v with c made at path (what is left of c.Path),
// creating the maps on the way.
func applyChange(v any, path fieldedit.Path, c fieldedit.Change) any {
	if len(path) == 0 {
		return c.Value
	}
	switch v := v.(type) {
	case []any:
		if i, err := strconv.Atoi(path[0]); err == nil && i >= 0 && i < len(v) {
			v[i] = applyChange(v[i], path[1:], c)
		}
		return v
	case map[string]any:
		if len(path) == 1 && c.Delete {
			delete(v, path[0])
			return v
		}
		v[path[0]] = applyChange(v[path[0]], path[1:], c)
		return v
	default:
		if c.Delete {
			return v
		}
		return applyChange(map[string]any{}, path, c)
	}
}

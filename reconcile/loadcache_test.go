package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/internal/benchrepo"
	"github.com/durable-delivery/durable/schema"
)

// TestTreeCacheAgreesWithEvaluation generates trees — the bench
// repository at several sizes, then with bytes changed, hostile values and
// extra fields — and checks that what the tree cache returns, on a miss and
// on a hit, is exactly what evaluating the tree again gives, error or
// desired state; that a changed tree is evaluated, never served another's
// state; and that a caller changing the state it got changes nothing kept.
func TestTreeCacheAgreesWithEvaluation(t *testing.T) {
	ctx := context.Background()
	var c treeCache
	rng := rand.New(rand.NewPCG(3, 5))
	evals := 0
	eval := func(_ context.Context, fsys fs.FS) (*schema.DesiredState, error) {
		evals++
		return schema.Load(fsys)
	}
	for i := range 24 {
		dir := filepath.Join(t.TempDir(), "repo")
		if err := benchrepo.Write(dir, 1+rng.IntN(4)); err != nil {
			t.Fatal(err)
		}
		what := "as generated"
		if i > 0 {
			what = mutateTree(t, rng, dir)
		}
		fsys := os.DirFS(dir)
		tree := treeDigest(t, dir)
		want, wantErr := schema.Load(fsys)
		for _, pass := range []string{"first", "second"} {
			before := evals
			got, err := c.load(ctx, tree, fsys, eval)
			if fmt.Sprint(err) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
				t.Fatalf("tree %d (%s), %s load: got %+v, %v\nwant %+v, %v", i, what, pass, got, err, want, wantErr)
			}
			hit := evals == before
			if pass == "second" && hit != (wantErr == nil) {
				t.Fatalf("tree %d (%s): second load hit the cache: %v; only a tree that evaluated must", i, what, hit)
			}
			if got != nil {
				for name, svc := range got.Services {
					svc.Run.Env = map[string]string{"CHANGED": "by the caller"}
					got.Services[name] = svc
				}
			}
		}
	}
	if len(c.trees) > treeCacheSize || len(c.order) != len(c.trees) {
		t.Fatalf("the cache holds %d trees (%d in order), at most %d", len(c.trees), len(c.order), treeCacheSize)
	}
}

// mutateTree changes the generated repository in one generated way and
// says how.
func mutateTree(t *testing.T, rng *rand.Rand, dir string) string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.cue"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no CUE files in %s: %v", dir, err)
	}
	sort.Strings(names)
	name := names[rng.IntN(len(names))]
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var what string
	switch rng.IntN(5) {
	case 0:
		at := rng.IntN(len(data))
		data[at] = "x{}\":0 \n"[rng.IntN(8)]
		what = fmt.Sprintf("byte %d of %s changed", at, filepath.Base(name))
	case 1:
		data = append(data, fmt.Sprintf("\nservices: %q: run: replicas: %d\n", benchrepo.Name(0), rng.IntN(5)-1)...)
		what = "replicas changed"
	case 2:
		data = append(data, "\nservices: \"\\u0000evil\": {}\n"...)
		what = "a hostile service name"
	case 3:
		value := []string{fmt.Sprint(rng.Int()), "\u2028\t\"quoted\"", strings.Repeat("long", 16<<10)}[rng.IntN(3)]
		data = append(data, fmt.Sprintf("\nservices: %q: run: env: EXTRA: %q\n", benchrepo.Name(0), value)...)
		what = fmt.Sprintf("an env value of %d bytes added", len(value))
	default:
		data = append(data, fmt.Sprintf("\nservices: %q: hold: true\n", benchrepo.Name(0))...)
		what = "a hold added"
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return what
}

// treeDigest names the directory's content, as a Git tree hash does.
func treeDigest(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		fmt.Fprintf(h, "%s %d\n", path[len(dir):], len(data))
		h.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestTreeCacheIsBoundedInBytes: trees of generated sizes, some alone
// over the bound, are kept newest first within the cache's limit (the newest
// whatever its size), and what the cache counts is what it holds.
func TestTreeCacheIsBoundedInBytes(t *testing.T) {
	ctx := context.Background()
	const limit = 1 << 20
	c := treeCache{limit: limit}
	rng := rand.New(rand.NewPCG(8, 9))
	for i := range 40 {
		// Random bytes in hex compress to about half: the sizes are of
		// what the cache keeps, roughly.
		size := rng.IntN(limit / 3)
		if i%9 == 0 {
			size = limit + 1 // alone over the bound
		}
		noise := make([]byte, size)
		for j := range noise {
			noise[j] = byte(rng.Uint32())
		}
		eval := func(context.Context, fs.FS) (*schema.DesiredState, error) {
			return &schema.DesiredState{Services: map[string]schema.Service{"web": {Name: hex.EncodeToString(noise)}}}, nil
		}
		tree := fmt.Sprintf("tree-%d", rng.IntN(30))
		if _, err := c.load(ctx, tree, nil, eval); err != nil {
			t.Fatal(err)
		}
		held := 0
		for _, data := range c.trees {
			held += len(data)
		}
		if held != c.bytes || len(c.order) != len(c.trees) {
			t.Fatalf("load %d: the cache counts %d bytes and holds %d, %d trees in order and %d held", i, c.bytes, held, len(c.order), len(c.trees))
		}
		if _, ok := c.trees[tree]; !ok {
			t.Fatalf("load %d: the newest tree %s was not kept", i, tree)
		}
		if len(c.order) > 1 && c.bytes > limit {
			t.Fatalf("load %d: %d trees hold %d bytes, over %d", i, len(c.order), c.bytes, limit)
		}
	}
}

// A tree evaluated elsewhere (the dashboard's rollback) and recorded is not
// evaluated again when its revision is taken.
func TestEvaluatedTreeIsNotEvaluatedAgain(t *testing.T) {
	r := &Reconciler{}
	ds := &schema.DesiredState{Services: map[string]schema.Service{"web": {Name: "web", Artifact: "a@sha256:" + strings.Repeat("1", 64)}}}
	r.Evaluated("tree-1", ds)
	r.Evaluated("", ds) // no tree: nothing to key it by
	evals := 0
	eval := func(context.Context, fs.FS) (*schema.DesiredState, error) {
		evals++
		return &schema.DesiredState{}, nil
	}
	got, err := r.trees.load(context.Background(), "tree-1", nil, eval)
	if err != nil || evals != 0 || got.Services["web"].Artifact != ds.Services["web"].Artifact {
		t.Fatalf("load of a recorded tree: %+v, %v after %d evaluation(s); want the recorded state, none", got, err, evals)
	}
	if _, err := r.trees.load(context.Background(), "tree-2", nil, eval); err != nil || evals != 1 {
		t.Fatalf("another tree: %d evaluation(s), %v; want 1", evals, err)
	}
}

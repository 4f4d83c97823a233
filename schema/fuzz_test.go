package schema

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// fuzzFiles are the files of the tree FuzzLoad loads, one per argument; an
// empty argument leaves its file out.
var fuzzFiles = []string{"a.cue", "b.cue", "c.yaml"}

// fuzzMaxBytes bounds each file the fuzzer writes: small trees find the
// loader's mistakes as well as large ones, and keep each load short.
const fuzzMaxBytes = 2048

// fuzzLoadLimit is how long one load of a fuzzed tree may take before it
// counts as a hang: far more than such a small tree needs. A tree that
// computes something large on purpose (a comprehension over list.Range) is
// the isolated evaluation's to bound, and is skipped.
const fuzzLoadLimit = 20 * time.Second

// FuzzLoad loads small trees of two .cue files and a YAML file. The loader
// must not panic or hang; it must return a desired state or Errors (never
// both nil, never another error for a problem of the tree's), each Error in
// a file of the tree; and a desired state it returns must load again, to
// the same, when written back as a JSON file: what the loader accepts, its
// own output form accepts. Seeds are under testdata/fuzz/FuzzLoad (the
// examples, the invalid corpus, and every finding); the normal test run
// replays them.
func FuzzLoad(f *testing.F) {
	f.Fuzz(func(t *testing.T, a, b, c string) {
		fsys := fstest.MapFS{}
		for i, text := range []string{a, b, c} {
			if len(text) > fuzzMaxBytes {
				t.Skip("a file over the fuzzer's bound")
			}
			if strings.Contains(text, "list.Range") || strings.Contains(text, "strings.Repeat") {
				t.Skip("the isolated evaluation bounds what computes large on purpose")
			}
			if text != "" {
				fsys[fuzzFiles[i]] = &fstest.MapFile{Data: []byte(text)}
			}
		}
		ds, err := loadWithin(t, fsys)
		var errs Errors
		switch {
		case ds == nil && err == nil:
			t.Fatal("Load returned neither a desired state nor an error")
		case err != nil && !errors.As(err, &errs):
			t.Fatalf("Load failed with %T, not Errors: %v", err, err)
		case err != nil:
			for _, e := range errs {
				if e.File != "" && fsys[e.File] == nil {
					t.Errorf("error positioned outside the tree: %s", e)
				}
			}
			return
		}
		out, err := json.Marshal(ds)
		if err != nil {
			t.Fatalf("marshal the desired state: %v", err)
		}
		again, err := loadWithin(t, fstest.MapFS{"state.json": &fstest.MapFile{Data: out}})
		if err != nil {
			t.Fatalf("the desired state does not load again as JSON: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(again, ds) {
			t.Fatalf("the desired state loads again as JSON differently:\n%+v\nwas\n%+v", again, ds)
		}
	})
}

// loadWithin is Load, failing t when it takes longer than fuzzLoadLimit.
func loadWithin(t *testing.T, fsys fstest.MapFS) (*DesiredState, error) {
	type result struct {
		ds  *DesiredState
		err error
	}
	done := make(chan result, 1)
	go func() {
		ds, err := Load(fsys)
		done <- result{ds, err}
	}()
	select {
	case r := <-done:
		return r.ds, r.err
	case <-time.After(fuzzLoadLimit):
		t.Fatalf("Load took longer than %s", fuzzLoadLimit)
		return nil, nil
	}
}

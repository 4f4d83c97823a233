package schema

import (
	"context"
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/examples"
)

// A warm isolation gives what an in-process load gives, load after load
// (the second and later in the spare started ahead), errors included, and
// bounds each evaluation from when it is given the revision.
func TestWarmLoadMatchesLoad(t *testing.T) {
	want, err := Load(examples.Quickstart())
	if err != nil {
		t.Fatal(err)
	}
	broken := repo(map[string]string{"extra.cue": "package demo\n\nservices: web: run: replicas: \"two\"\n"})
	_, wantErr := Load(broken)
	w := NewWarm(isolation(0, 0))
	defer w.Close()
	for i := range 3 {
		got, err := w.Load(context.Background(), examples.Quickstart())
		if err != nil {
			t.Fatalf("load %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("load %d, warm:\n%+v\nin process:\n%+v", i, got, want)
		}
		_, gotErr := w.Load(context.Background(), broken)
		var errs Errors
		if !errors.As(gotErr, &errs) || gotErr.Error() != wantErr.Error() {
			t.Fatalf("load %d, warm errors:\n%v\nin process:\n%v", i, gotErr, wantErr)
		}
	}
	slow := NewWarm(isolation(300*time.Millisecond, 0))
	defer slow.Close()
	for range 2 {
		_, err := slow.Load(context.Background(), grid)
		if !strings.Contains(errText(err), "took longer than 300ms, the limit") {
			t.Fatalf("got %v, want the time limit", err)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// A spare that died while it waited is replaced: the load succeeds.
func TestWarmReplacesADeadSpare(t *testing.T) {
	w := NewWarm(isolation(0, 0))
	defer w.Close()
	if _, err := w.Load(context.Background(), examples.Quickstart()); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	spare := w.spare
	w.mu.Unlock()
	if spare == nil {
		t.Fatal("no spare was started")
	}
	if err := spare.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Load(context.Background(), examples.Quickstart()); err != nil {
		t.Fatalf("after the spare died: %v", err)
	}
}

// Close ends the spare, and a closed Warm starts none.
func TestWarmCloseEndsTheSpare(t *testing.T) {
	w := NewWarm(isolation(0, 0))
	if _, err := w.Load(context.Background(), examples.Quickstart()); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	spare := w.spare
	w.mu.Unlock()
	w.Close()
	if spare == nil || spare.cmd.ProcessState == nil {
		t.Fatalf("the spare %v still runs after Close", spare)
	}
	if _, err := w.Load(context.Background(), examples.Quickstart()); err != nil {
		t.Fatal(err)
	}
	if w.spare != nil {
		t.Fatal("a closed Warm started a spare")
	}
}

// BenchmarkWarmLoadQuickstart is BenchmarkIsolatedLoadQuickstart with the
// child started ahead of need. Revisions come apart: each load is measured
// after a pause (not counted) in which the spare starts, as it does
// between a reconciler's revisions; BenchmarkIsolatedLoadQuickstart
// pauses the same for a fair comparison.
func BenchmarkWarmLoadQuickstart(b *testing.B) {
	w := NewWarm(benchIsolation())
	defer w.Close()
	benchLoads(b, w.Load)
}

// benchLoads measures load on the quickstart, pausing between loads.
func benchLoads(b *testing.B, load func(context.Context, fs.FS) (*DesiredState, error)) {
	for range b.N {
		b.StopTimer()
		time.Sleep(150 * time.Millisecond)
		b.StartTimer()
		if _, err := load(context.Background(), examples.Quickstart()); err != nil {
			b.Fatal(err)
		}
	}
}

package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
)

// The loop's benchmarks run passes over a fleet of services on the
// harness's in-memory adapters: what they measure is the reconciler's own
// work (journal reads, decisions), not an adapter's. Run with
//
//	go test ./reconcile -run '^$' -bench Loop -benchtime 5x
//
// idle-pass reports the CPU of a pass where nothing changed (cores at the
// idle pace of 2 s between passes); first-action the time from a revision
// that changes one service in the middle of the fleet to that service's
// first Ensure, in the pass that follows it.
func BenchmarkLoopIdlePass(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ctx := context.Background()
			f := newBenchFleet(b, n)
			var cpu time.Duration
			var wall time.Duration
			b.ResetTimer()
			for range b.N {
				c0, w0 := cpuTime(), time.Now()
				f.h.r.pass(ctx)
				cpu, wall = cpu+cpuTime()-c0, wall+time.Since(w0)
			}
			perPass := cpu / time.Duration(b.N)
			b.ReportMetric(perPass.Seconds()*1000, "cpu-ms/pass")
			b.ReportMetric(perPass.Seconds()/(wall.Seconds()/float64(b.N)+2), "cores-idle")
		})
	}
}

func BenchmarkLoopFirstAction(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ctx := context.Background()
			f := newBenchFleet(b, n)
			changed := fmt.Sprintf("svc-%04d", n/2)
			var total time.Duration
			b.ResetTimer()
			for i := range b.N {
				digit := "bc"[i%2 : i%2+1]
				f.revision(fmt.Sprintf("c%d", i+2), map[string]string{changed: digit})
				start := time.Now()
				f.rt.await(changed + "-")
				f.h.r.pass(ctx)
				total += f.rt.firstAt().Sub(start)
				b.StopTimer()
				f.settle(ctx)
				b.StartTimer()
			}
			b.ReportMetric(total.Seconds()*1000/float64(b.N), "ms-to-first-action")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type benchFleet struct {
	b  *testing.B
	h  *harness
	rt *benchRuntime
	n  int
	// digits is each service's artifact digit.
	digits map[string]string
}

// benchRuntime is the fake runtime noting when it first ensured a set
// whose ID has the prefix awaited.
type benchRuntime struct {
	*fakeRuntime
	mu     sync.Mutex
	prefix string
	first  time.Time
}

func (r *benchRuntime) Ensure(ctx context.Context, spec adapters.InfraSetSpec) (adapters.InfraSetStatus, error) {
	r.mu.Lock()
	if r.prefix != "" && r.first.IsZero() && strings.HasPrefix(spec.ID, r.prefix) {
		r.first = time.Now()
	}
	r.mu.Unlock()
	return r.fakeRuntime.Ensure(ctx, spec)
}

func (r *benchRuntime) await(prefix string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.prefix, r.first = prefix, time.Time{}
}

func (r *benchRuntime) firstAt() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.first
}

func newBenchFleet(b *testing.B, n int) *benchFleet {
	h := newHarness(b)
	f := &benchFleet{b: b, h: h, rt: &benchRuntime{fakeRuntime: h.rt}, n: n, digits: map[string]string{}}
	h.r.targets.runtimes[adapterKey(h.target, h.target.Runtime)] = f.rt
	for i := range n {
		f.digits[fmt.Sprintf("svc-%04d", i)] = "a"
	}
	f.revision("c1", nil)
	f.settle(context.Background())
	return f
}

// revision makes the desired state a new revision, with the given services
// at new artifact digits.
func (f *benchFleet) revision(commit string, changed map[string]string) {
	for name, d := range changed {
		f.digits[name] = d
	}
	ds := &schema.DesiredState{Services: map[string]schema.Service{}, Targets: map[string]schema.Target{"t": f.h.target},
		Pipeline: schema.Pipeline{Stages: []schema.Stage{{Name: "s", Targets: []string{"t"}}}}}
	for name, d := range f.digits {
		svc := schema.Service{Name: name, Artifact: "r/" + name + "@sha256:" + strings.Repeat(d, 64),
			Run:      schema.Run{Port: 8080, Replicas: 2},
			Strategy: schema.Strategy{Kind: schema.BlueGreen, KeepWarm: 1, WarmMode: schema.WarmFull, ProgressDeadline: schema.Duration{Duration: time.Minute}}}
		if changed == nil || changed[name] != "" {
			spec, _ := json.Marshal(svc)
			if err := f.h.st.PutRelease(context.Background(), journal.Release{ID: svc.ReleaseID(), Service: name, Artifact: svc.Artifact, Spec: spec}); err != nil {
				f.b.Fatal(err)
			}
		}
		ds.Services[name] = svc
	}
	f.h.r.mu.Lock()
	f.h.r.desired, f.h.r.revision = ds, journal.Revision{Commit: commit, Attempt: commit}
	f.h.r.mu.Unlock()
}

// settle runs passes until one finds nothing in flight, and one more.
func (f *benchFleet) settle(ctx context.Context) {
	for range 20 {
		if !f.h.r.pass(ctx) {
			f.h.r.pass(ctx)
			return
		}
	}
	f.b.Fatal("the fleet never settled")
}

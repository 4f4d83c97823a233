package queue

import (
	"fmt"
	"testing"
	"time"
)

// benchProposals is how many proposals a throughput run lands.
const benchProposals = 100

// BenchmarkLanding lands benchProposals proposals, each changing another
// service's artifact on adjacent lines of release.cue (so each after the
// first merges by field path), at speculative depth 1 and 4, and reports
// the time per landing. Run with -benchtime=1x.
func BenchmarkLanding(b *testing.B) {
	for _, depth := range []int{1, 4} {
		b.Run(fmt.Sprintf("depth=%d", depth), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				r := newDesiredRepo(b, benchProposals)
				for i := range benchProposals {
					r.propose(b, fmt.Sprintf("queue/%03d", i), map[string]string{"release.cue": releaseFile(benchProposals, map[int]int{i: i + 1})})
				}
				run := newRunner(b, r, Config{Depth: depth})
				b.StartTimer()
				start := time.Now()
				drain(b, run)
				b.ReportMetric(float64(time.Since(start).Milliseconds())/benchProposals, "ms/landing")
			}
		})
	}
}

// BenchmarkAddToLanded is the time from queue add to landed for one
// proposal on an empty queue (a fast-forward: validation is all of it).
func BenchmarkAddToLanded(b *testing.B) {
	for range b.N {
		b.StopTimer()
		r := newDesiredRepo(b, 10)
		r.propose(b, "web-v2", map[string]string{"release.cue": releaseFile(10, map[int]int{3: 1})})
		run := newRunner(b, r, Config{})
		b.StartTimer()
		start := time.Now()
		if _, err := run.cfg.Store.Enqueue(b.Context(), r.bare, "main", "web-v2", time.Now()); err != nil {
			b.Fatal(err)
		}
		ps := drain(b, run)
		if ps[0].State != Landed {
			b.Fatalf("%+v", ps[0])
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/add-to-landed")
	}
}

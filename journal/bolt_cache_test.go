package journal

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
)

// fileSets and fileRollouts are the uncached reads: every record decoded
// from the file, in the Store's order.
func fileSets(t *testing.T, b *Bolt) []InfraSet {
	t.Helper()
	sets, err := listRecords[InfraSet](context.Background(), b, bucketInfraSets, "infra-set")
	if err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(sets, setOrder)
	return sets
}

func fileRollouts(t *testing.T, b *Bolt) []Rollout {
	t.Helper()
	rs, err := listRecords[Rollout](context.Background(), b, bucketRollouts, "rollout")
	if err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(rs, rolloutOrder)
	return rs
}

// randomTime is in one of several zones, with nanoseconds and a monotonic
// reading at times: what the file keeps of it is what a read returns.
func randomTime(rng *rand.Rand) time.Time {
	zones := []*time.Location{time.UTC, time.FixedZone("X", 5*3600+1800), time.Local}
	t := t0.Add(time.Duration(rng.IntN(5)) * time.Second).Add(time.Duration(rng.IntN(3)) * time.Nanosecond).In(zones[rng.IntN(len(zones))])
	if rng.IntN(4) == 0 {
		return time.Now()
	}
	return t
}

// services are what generated records belong to: a record's service may
// change under its id, which the reconciler never does, but the cache
// must still list it where it is now.
var services = []string{"web", "api", "db"}

func randomSet(rng *rand.Rand) InfraSet {
	states := []api.SetState{api.SetCreating, api.SetServing, api.SetWarm, api.SetCanary, api.SetRemoved}
	return InfraSet{ID: fmt.Sprintf("set-%d", rng.IntN(12)), Service: services[rng.IntN(len(services))], Stage: "prod", Target: "t",
		Release: fmt.Sprintf("r%d", rng.IntN(3)), State: states[rng.IntN(len(states))], Reason: fmt.Sprint(rng.IntN(2)),
		CreatedAt: randomTime(rng), UpdatedAt: randomTime(rng), ServedAt: randomTime(rng), Weight: rng.IntN(101)}
}

func randomRollout(rng *rand.Rand) Rollout {
	r := Rollout{ID: fmt.Sprintf("web/prod/t/r%d", rng.IntN(8)), Service: services[rng.IntN(len(services))], Release: "r", Phase: api.RolloutCanary,
		Step: rng.IntN(4), StartedAt: randomTime(rng), UpdatedAt: randomTime(rng)}
	if rng.IntN(2) == 0 {
		r.StepBase = map[string]Counters{"set-1": {Requests: uint64(rng.IntN(100))}}
	}
	if rng.IntN(2) == 0 {
		r.Verdict = &Verdict{Entry: "gate", Result: "allow", Reasons: []string{"ok"}, At: randomTime(rng)}
	}
	return r
}

// TestCachedReadsAgreeWithTheFile: after every write of a generated
// sequence (new and replaced records, times in other zones and with
// monotonic readings, reads in between that fill the cache), the cached
// lists and releases equal what the file decodes to, a caller changing
// what it got changes nothing cached, and a reopened journal reads the
// same; and so do one service's lists.
func TestCachedReadsAgreeWithTheFile(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		path := filepath.Join(t.TempDir(), "journal.db")
		b, err := OpenBolt(path, BoltOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for op := range 60 {
			switch rng.IntN(4) {
			case 0, 1:
				err = b.PutInfraSet(ctx, randomSet(rng))
			case 2:
				err = b.PutRollout(ctx, randomRollout(rng))
			case 3:
				err = b.PutRelease(ctx, Release{ID: fmt.Sprintf("r%d", rng.IntN(3)), Service: "web", SeenAt: randomTime(rng), Spec: []byte(fmt.Sprintf(`{"n":%d}`, rng.IntN(9)))})
			}
			if err != nil {
				t.Fatal(err)
			}
			if rng.IntN(3) > 0 { // else the next write lands on a cache not yet read again
				checkCacheAgrees(t, b, fmt.Sprintf("seed %d, op %d", seed, op))
			}
		}
		checkCacheAgrees(t, b, fmt.Sprintf("seed %d, end", seed))
		sets, rollouts := mustSets(t, b), mustRollouts(t, b)
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		again, err := OpenBolt(path, BoltOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := mustSets(t, again); !reflect.DeepEqual(got, sets) {
			t.Errorf("seed %d: reopened, the infra-sets are\n%+v\nbefore closing\n%+v", seed, got, sets)
		}
		if got := mustRollouts(t, again); !reflect.DeepEqual(got, rollouts) {
			t.Errorf("seed %d: reopened, the rollouts differ", seed)
		}
		_ = again.Close()
	}
}

func mustSets(t *testing.T, b *Bolt) []InfraSet {
	t.Helper()
	sets, err := b.InfraSets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sets
}

func mustRollouts(t *testing.T, b *Bolt) []Rollout {
	t.Helper()
	rs, err := b.Rollouts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func checkCacheAgrees(t *testing.T, b *Bolt, where string) {
	t.Helper()
	sets, want := mustSets(t, b), fileSets(t, b)
	if !reflect.DeepEqual(sets, want) {
		t.Fatalf("%s: cached infra-sets\n%+v\nthe file\n%+v", where, sets, want)
	}
	rs, wantRs := mustRollouts(t, b), fileRollouts(t, b)
	if !reflect.DeepEqual(rs, wantRs) {
		t.Fatalf("%s: cached rollouts\n%+v\nthe file\n%+v", where, rs, wantRs)
	}
	for _, svc := range services {
		wantSets := slices.DeleteFunc(slices.Clone(want), func(s InfraSet) bool { return s.Service != svc })
		got, err := b.ServiceInfraSets(context.Background(), svc)
		if err != nil || len(got)+len(wantSets) > 0 && !reflect.DeepEqual(got, wantSets) {
			t.Fatalf("%s: cached infra-sets of %s\n%+v (%v)\nthe file\n%+v", where, svc, got, err, wantSets)
		}
		wantRs := slices.DeleteFunc(slices.Clone(wantRs), func(r Rollout) bool { return r.Service != svc })
		gotRs, err := b.ServiceRollouts(context.Background(), svc)
		if err != nil || len(gotRs)+len(wantRs) > 0 && !reflect.DeepEqual(gotRs, wantRs) {
			t.Fatalf("%s: cached rollouts of %s\n%+v (%v)\nthe file\n%+v", where, svc, gotRs, err, wantRs)
		}
	}
	for i := range 3 {
		id := fmt.Sprintf("r%d", i)
		got, err := b.Release(context.Background(), id)
		var fromFile Release
		fileErr := b.getRecord(context.Background(), bucketReleases, "release", id, &fromFile)
		if (err == nil) != (fileErr == nil) || !reflect.DeepEqual(got, fromFile) {
			t.Fatalf("%s: cached release %s = %+v (%v), the file %+v (%v)", where, id, got, err, fromFile, fileErr)
		}
		if len(got.Spec) > 0 {
			got.Spec[0] = 'X' // a caller's change stays the caller's
		}
	}
	// A caller changing what it got changes nothing cached.
	for i := range sets {
		sets[i].State = "changed"
	}
	for i := range rs {
		if rs[i].StepBase != nil {
			rs[i].StepBase["x"] = Counters{}
		}
		if rs[i].Verdict != nil {
			rs[i].Verdict.Reasons[0] = "changed"
		}
	}
	if again := mustSets(t, b); !reflect.DeepEqual(again, want) {
		t.Fatalf("%s: changing a listed infra-set changed the cache", where)
	}
	if again := mustRollouts(t, b); !reflect.DeepEqual(again, wantRs) {
		t.Fatalf("%s: changing a listed rollout changed the cache", where)
	}
}

// TestCachedReadsUnderConcurrentWrites: lists racing puts (run with -race)
// never cache what a put replaced.
func TestCachedReadsUnderConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	b := newTestBolt(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range 40 {
				if w%2 == 0 {
					if err := b.PutInfraSet(ctx, randomSet(rng)); err != nil {
						t.Error(err)
					}
				} else if _, err := b.InfraSets(ctx); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	checkCacheAgrees(t, b, "after concurrent writes")
}

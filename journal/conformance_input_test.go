package journal

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
)

func testRejectsBadRecords(t *testing.T, k storeKind) {
	ctx := context.Background()
	st, _ := k.open(t)
	cases := map[string]struct {
		put  func() error
		want string
	}{
		"empty id": {func() error { return st.PutRelease(ctx, Release{}) }, "empty id"},
		"huge id":  {func() error { return st.PutInfraSet(ctx, InfraSet{ID: strings.Repeat("x", 5000)}) }, "id is 5000 bytes"},
		"huge record": {func() error {
			return st.PutRevision(ctx, Revision{Commit: "c", Message: strings.Repeat("m", k.maxRecord)})
		}, "more than the"},
		"huge rollout": {func() error {
			return st.PutRollout(ctx, Rollout{ID: "r", Phase: api.RolloutCreating, Message: strings.Repeat("m", k.maxRecord)})
		}, "more than the"},
		"bad raw json":  {func() error { return st.PutRelease(ctx, Release{ID: "r", Spec: json.RawMessage(`{nope`)}) }, "encode"},
		"no entry kind": {func() error { _, err := st.Append(ctx, Entry{Message: "x"}); return err }, "empty kind"},
		"huge entry": {func() error {
			_, err := st.Append(ctx, Entry{Kind: api.EntryEvent, Message: strings.Repeat("m", k.maxRecord)})
			return err
		}, "more than the"},
		"entry not json": {func() error {
			_, err := st.Append(ctx, Entry{Kind: api.EntryOutcome, Detail: json.RawMessage("{not json")})
			return err
		}, "encode"},
	}
	for name, c := range cases {
		err := c.put()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one containing %q", name, err, c.want)
		}
	}
	// Refused records and entries leave nothing, and consume no Seq.
	if sets, err := st.InfraSets(ctx); err != nil || len(sets) != 0 {
		t.Errorf("InfraSets after refusals = %+v, %v", sets, err)
	}
	if ts, err := st.Transitions(ctx); err != nil || len(ts) != 0 {
		t.Errorf("Transitions after refusals = %+v, %v", ts, err)
	}
	e, err := st.Append(ctx, Entry{Kind: api.EntryEvent, Message: "ok"})
	if err != nil || e.Seq != 1 {
		t.Errorf("Append after refusals = %+v, %v; want Seq 1", e, err)
	}
}

func testAppendAndEntries(t *testing.T, k storeKind) {
	ctx := context.Background()
	st, reopen := k.open(t)
	first, err := st.Append(ctx, Entry{Kind: api.EntryIntent, Action: "create-set", Service: "web", Message: "create s-a",
		Detail: json.RawMessage(`{"replicas":2}`)})
	if err != nil {
		t.Fatal(err)
	}
	if first.Seq != 1 || first.Time.IsZero() || first.Time.Location() != time.UTC {
		t.Errorf("first entry = %+v, want Seq 1 and a UTC time", first)
	}
	second, err := st.Append(ctx, Entry{Kind: api.EntryOutcome, Time: t0, Intent: first.Seq, Message: "created"})
	if err != nil || second.Seq != 2 || !second.Time.Equal(t0) {
		t.Errorf("second entry = %+v, %v; want Seq 2 and the given time", second, err)
	}
	appendEvents(t, st, 3)
	// Seq continues after a reopen, with no gap.
	st = reopen()
	if next, err := st.Append(ctx, Entry{Kind: api.EntryEvent, Message: "after reopen"}); err != nil || next.Seq != 6 {
		t.Errorf("Append after reopen = %+v, %v; want Seq 6", next, err)
	}
	all, err := st.Entries(ctx, 0, 0)
	if err != nil || len(all) != 6 {
		t.Fatalf("Entries = %d entries, %v; want 6", len(all), err)
	}
	for i, e := range all {
		if e.Seq != uint64(i+1) {
			t.Errorf("entry %d has Seq %d", i, e.Seq)
		}
	}
	if !reflect.DeepEqual(all[0], first) {
		t.Errorf("stored first entry = %+v, want %+v", all[0], first)
	}
	if page, err := st.Entries(ctx, 2, 2); err != nil || len(page) != 2 || page[0].Seq != 3 || page[1].Seq != 4 {
		t.Errorf("Entries(after 2, limit 2) = %+v, %v", page, err)
	}
	if tail, err := st.Entries(ctx, 6, 0); err != nil || len(tail) != 0 {
		t.Errorf("Entries after the last = %+v, %v; want none", tail, err)
	}
	if tail, err := st.Entries(ctx, ^uint64(0), 0); err != nil || len(tail) != 0 {
		t.Errorf("Entries after max uint64 = %+v, %v; want none", tail, err)
	}
	if _, err := st.Entries(ctx, 0, -1); err == nil {
		t.Error("Entries(limit -1) succeeded, want an error")
	}
}

func appendEvents(t *testing.T, st Store, n int) {
	t.Helper()
	for i := range n {
		if _, err := st.Append(context.Background(), Entry{Kind: api.EntryEvent, Message: "event " + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
}

// testEntriesPaging: a list longer than one read of etcd (etcdPage) comes
// whole and in order, from any point, with any limit.
func testEntriesPaging(t *testing.T, k storeKind) {
	ctx := context.Background()
	st, _ := k.open(t)
	const n = 2*etcdPage + 37
	appendEvents(t, st, n)
	for _, c := range []struct {
		after      uint64
		limit      int
		first, len int
	}{
		{0, 0, 1, n}, {etcdPage - 1, 0, etcdPage, n - etcdPage + 1}, {3, etcdPage + 5, 4, etcdPage + 5}, {n - 2, 10, n - 1, 2}, {0, 1, 1, 1},
	} {
		got, err := st.Entries(ctx, c.after, c.limit)
		if err != nil || len(got) != c.len {
			t.Fatalf("Entries(after %d, limit %d) = %d entries, %v; want %d", c.after, c.limit, len(got), err, c.len)
		}
		for i, e := range got {
			if e.Seq != uint64(c.first+i) || e.Message != "event "+strconv.Itoa(c.first+i-1) {
				t.Fatalf("Entries(after %d, limit %d)[%d] = #%d %q", c.after, c.limit, i, e.Seq, e.Message)
			}
		}
	}
}

func testLargeValues(t *testing.T, k storeKind) {
	ctx := context.Background()
	st, _ := k.open(t)
	rng := rand.New(rand.NewPCG(1, 2))
	// Random letters do not compress: the record is near the limit as
	// stored. The desired state compresses (as a fleet's does): a large
	// one fits.
	noise := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + rng.IntN(26))
		}
		return string(b)
	}
	near := k.maxRecord - 4096
	release := Release{ID: "big", Service: "web", Spec: json.RawMessage(strconv.Quote(noise(near)))}
	services := strings.Repeat(`{"image":"registry.example/web@sha256:0123","replicas":3,"env":{"A":"b"}},`, 40000)
	revision := Revision{Commit: "big", SeenAt: t0, DesiredState: json.RawMessage(`{"services":[` + services + `{}]}`)}
	rollout := Rollout{ID: "big", Phase: api.RolloutCreating, Message: noise(near)}
	entry := Entry{Kind: api.EntryEvent, Message: noise(near)}
	if err := st.PutRelease(ctx, release); err != nil {
		t.Fatal(err)
	}
	if err := st.PutRevision(ctx, revision); err != nil {
		t.Fatal(err)
	}
	if err := st.PutRollout(ctx, rollout); err != nil {
		t.Fatal(err)
	}
	stored, err := st.Append(ctx, entry)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := st.Release(ctx, "big"); err != nil || !reflect.DeepEqual(got, release) {
		t.Errorf("large release did not round-trip: %v", err)
	}
	if got, err := st.Revision(ctx, "big"); err != nil || string(got.DesiredState) != string(revision.DesiredState) {
		t.Errorf("large desired state (%d bytes) did not round-trip: %v", len(revision.DesiredState), err)
	}
	if got, err := st.Rollouts(ctx); err != nil || len(got) != 1 || got[0].Message != rollout.Message {
		t.Errorf("large rollout did not round-trip: %v", err)
	}
	if got, err := st.Entries(ctx, 0, 0); err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], stored) {
		t.Errorf("large entry did not round-trip: %v", err)
	}
}

// hostile are strings that break naive keys and encodings: separators,
// traversal, NUL and control bytes, quotes, markup, right-to-left marks,
// invalid UTF-8, and the longest id allowed.
var hostile = []string{
	"a/b/c", "../../etc/passwd", "/", "//", "x\x00y", "\x00", "line\nbreak\r\n", "tab\there", `quote"d'`, "<script>alert(1)</script>",
	"\u202eevil", "ünïcødé ✓ 日本", "\xff\xfe broken utf-8", "%2F%00", "{\"json\":true}", " spaced ", strings.Repeat("é", maxIDBytes/2),
}

func testHostileStrings(t *testing.T, k storeKind) {
	ctx := context.Background()
	st, _ := k.open(t)
	for i, h := range hostile {
		set := InfraSet{ID: h, Service: h, Stage: h, Target: h, Release: h, State: api.SetCreating, Reason: h, CreatedAt: t0.Add(time.Duration(i))}
		if err := st.PutInfraSet(ctx, set); err != nil {
			t.Fatalf("put infra-set %q: %v", h, err)
		}
		spec, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		rel := Release{ID: h, Service: h, Artifact: h, Revision: h, Spec: spec}
		if err := st.PutRelease(ctx, rel); err != nil {
			t.Fatalf("put release %q: %v", h, err)
		}
		if _, err := st.Append(ctx, Entry{Kind: api.EntryEvent, Service: h, Message: h}); err != nil {
			t.Fatalf("append %q: %v", h, err)
		}
		// JSON keeps what it can: invalid UTF-8 comes back replaced, in
		// every implementation alike.
		wantSet, wantRel := jsonRoundTrip(t, set), jsonRoundTrip(t, rel)
		if got, err := st.InfraSet(ctx, h); err != nil || !reflect.DeepEqual(got, wantSet) {
			t.Errorf("infra-set %q = %+v, %v; want %+v", h, got, err, wantSet)
		}
		if got, err := st.Release(ctx, h); err != nil || !reflect.DeepEqual(got, wantRel) {
			t.Errorf("release %q = %+v, %v; want %+v", h, got, err, wantRel)
		}
	}
	sets, err := st.InfraSets(ctx)
	if err != nil || len(sets) != len(hostile) {
		t.Fatalf("InfraSets = %d sets, %v; want %d", len(sets), err, len(hostile))
	}
	entries, err := st.Entries(ctx, 0, 0)
	if err != nil || len(entries) != len(hostile) {
		t.Fatalf("Entries = %d, %v; want %d", len(entries), err, len(hostile))
	}
	for i, e := range entries {
		if want := jsonRoundTrip(t, hostile[i]); e.Message != want {
			t.Errorf("entry %d message = %q, want %q", i, e.Message, want)
		}
	}
}

func jsonRoundTrip[T any](t *testing.T, v T) T {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// testIDsThatPrefixEachOther: records whose ids begin with another's (a
// rollout's id is slash-joined) are each their own, and each kind's list
// holds only its own.
func testIDsThatPrefixEachOther(t *testing.T, k storeKind) {
	ctx := context.Background()
	st, _ := k.open(t)
	ids := []string{"web", "web/", "web/prod", "web/prod/t1", "webx", "we"}
	for i, id := range ids {
		if err := st.PutRollout(ctx, Rollout{ID: id, Service: id, Phase: api.RolloutCreating, StartedAt: t0.Add(time.Duration(i))}); err != nil {
			t.Fatal(err)
		}
		if err := st.PutRelease(ctx, Release{ID: id, Service: "from " + id}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids {
		if r, err := st.Rollout(ctx, id); err != nil || r.Service != id {
			t.Errorf("Rollout(%q) = %+v, %v", id, r, err)
		}
		if rs, err := st.ServiceRollouts(ctx, id); err != nil || len(rs) != 1 || rs[0].ID != id {
			t.Errorf("ServiceRollouts(%q) = %v, %v; want its own only", id, rolloutIDs(rs), err)
		}
	}
	if all, err := st.Rollouts(ctx); err != nil || !reflect.DeepEqual(rolloutIDs(all), ids) {
		t.Errorf("Rollouts = %v, %v; want %v", rolloutIDs(all), err, ids)
	}
	if sets, err := st.InfraSets(ctx); err != nil || len(sets) != 0 {
		t.Errorf("InfraSets = %v, %v; want none", setIDs(sets), err)
	}
	if revs, err := st.Revisions(ctx, 0); err != nil || len(revs) != 0 {
		t.Errorf("Revisions = %v, %v; want none", revisionCommits(revs), err)
	}
}

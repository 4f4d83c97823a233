package remote

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/agent/wire"
)

// dialFenced is dial with a fencing token of shard "s".
func dialFenced(t *testing.T, addr string, token uint64) *Agent {
	t.Helper()
	return dialShards(t, addr, Fence{Shard: "s", Token: token})
}

// dialShards is dial with the fencing tokens of several shards.
func dialShards(t *testing.T, addr string, fences ...Fence) *Agent {
	t.Helper()
	dir := pki(t)
	cert, key := certOf(dir, reconcilerName)
	a, err := New(Config{Address: addr, Host: "a1", CA: filepath.Join(dir, "ca", "ca.crt"), Cert: cert, Key: key, Fences: fences})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.CloseIdleConnections)
	return a
}

// TestAgentFencesADeposedOwner: once an owner of token 7 sent it, every
// call of an owner of token 5 is refused with ErrFenced — an agent started
// again on the same --state too — while the newer owner and callers
// without a token go on.
func TestAgentFencesADeposedOwner(t *testing.T) {
	_, host := startRouter(t)
	state := t.TempDir()
	addr := startAgent(t, agentOptions{host: host, state: state})
	ctx := context.Background()
	old, fresh := dialFenced(t, addr, 5), dialFenced(t, addr, 7)
	if _, err := old.Runtime("process", nil).Observe(ctx); err != nil {
		t.Fatalf("the first owner's call: %v", err)
	}
	got, err := fresh.SendFence(ctx)
	if err != nil || !slices.Equal(got, []wire.Fenced{{Shard: "s", Token: 7}}) {
		t.Fatalf("SendFence: %+v, %v", got, err)
	}
	refused := func(a *Agent, when string) {
		t.Helper()
		for call, err := range everyCall(a) {
			if !errors.Is(err, adapters.ErrFenced) || !strings.Contains(err.Error(), "below 7") {
				t.Errorf("%s: %s by the deposed owner: %v, want ErrFenced", when, call, err)
			}
		}
	}
	refused(old, "after the new owner's token")
	if _, err := fresh.Runtime("process", nil).Observe(ctx); err != nil {
		t.Errorf("the new owner's call: %v", err)
	}
	if _, err := dial(t, addr, "a1", reconcilerName).Runtime("process", nil).Observe(ctx); err != nil {
		t.Errorf("a call without a token: %v", err)
	}

	again := startAgent(t, agentOptions{host: host, state: state})
	refused(dialFenced(t, again, 5), "after the agent started again")
	if got, err := dialFenced(t, again, 9).SendFence(ctx); err != nil || len(got) != 1 || got[0].Token != 9 {
		t.Errorf("a newer token after the restart: %+v, %v", got, err)
	}
	nothingDone(t, again, "a1")
}

// A malformed token is refused before anything is done.
func TestAgentRefusesAMalformedFence(t *testing.T) {
	addr := startAgent(t, agentOptions{})
	many := strings.Repeat("s 1, ", wire.MaxFences) + "t 1"
	for _, v := range []string{"s", "s 0", "s -1", "s x", " 5", "a\tb 5", strings.Repeat("s", 201) + " 5", "s 99999999999999999999",
		"s 1, s 2", "s 1,t 2", "s 1, ", ", s 1", "a,b 1", many} {
		req, _ := http.NewRequest(http.MethodPost, "https://"+addr+wire.PathObserve, strings.NewReader(`{"kind": "process"}`))
		req.Header.Set(wire.FenceHeader, v)
		resp, err := rawClient(t, reconcilerName, "a1").Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("fence %q: HTTP %d, want 400", v, resp.StatusCode)
		}
	}
}

// TestAgentFencesEachShardOfACall: a reconciler owning shards a and b
// sends both tokens; once a newer owner of a sent its token, every call of
// the old one is refused — though its token of b is still the highest — and
// the refused call raised no token (b's owner after it is not refused);
// the new owner of a, sending a and c, goes on.
func TestAgentFencesEachShardOfACall(t *testing.T) {
	_, host := startRouter(t)
	addr := startAgent(t, agentOptions{host: host, state: t.TempDir()})
	ctx := context.Background()
	old := dialShards(t, addr, Fence{Shard: "a", Token: 3}, Fence{Shard: "b", Token: 4})
	got, err := old.SendFence(ctx)
	if err != nil || !slices.Equal(got, []wire.Fenced{{Shard: "a", Token: 3}, {Shard: "b", Token: 4}}) {
		t.Fatalf("SendFence of a and b: %+v, %v", got, err)
	}
	fresh := dialShards(t, addr, Fence{Shard: "a", Token: 8}, Fence{Shard: "c", Token: 2})
	if got, err := fresh.SendFence(ctx); err != nil || !slices.Equal(got, []wire.Fenced{{Shard: "a", Token: 8}, {Shard: "c", Token: 2}}) {
		t.Fatalf("SendFence of a and c: %+v, %v", got, err)
	}
	if _, err := dialShards(t, addr, Fence{Shard: "a", Token: 3}, Fence{Shard: "b", Token: 9}).SendFence(ctx); !errors.Is(err, adapters.ErrFenced) {
		t.Fatalf("a call with a's old token and a higher b: %v, want ErrFenced", err)
	}
	for call, err := range everyCall(old) {
		if !errors.Is(err, adapters.ErrFenced) || !strings.Contains(err.Error(), "shard a") {
			t.Errorf("%s by the deposed owner of a: %v, want ErrFenced naming shard a", call, err)
		}
	}
	if got, err := dialShards(t, addr, Fence{Shard: "b", Token: 5}).SendFence(ctx); err != nil || got[0].Token != 5 {
		t.Errorf("b's token 5 after the refused call that carried 9: %+v, %v (the refused call raised it)", got, err)
	}
	if _, err := fresh.Runtime("process", nil).Observe(ctx); err != nil {
		t.Errorf("the new owner of a: %v", err)
	}
}

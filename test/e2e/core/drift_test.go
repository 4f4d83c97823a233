package core

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/router"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestDriftIsRepairedOrReported changes the router's weights by hand: by
// default the reconciler restores the journal's split; with --drift report
// it journals the drift and leaves the weights as they are.
func TestDriftIsRepairedOrReported(t *testing.T) {
	for _, mode := range []string{"repair", "report"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			f := e2etest.New(t, ctx)
			f.ExtraArgs = []string{"--drift", mode}
			st := f.Story()
			c1 := f.Commit(ctx, f.Artifacts["v1"], "", "Deploy web v1")
			f.StartReconciler(ctx)
			if !st.Promoted(ctx, "deploy v1", c1, "v1") {
				t.Fatalf("v1 did not converge:\n%s", f.Logs())
			}
			st.Load = harness.StartLoad(ctx, f.Router, 2, 5*time.Millisecond) // a canary needs traffic
			t.Cleanup(st.Load.Stop)
			c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2")
			if err := f.API.Trigger(ctx); err != nil {
				t.Fatal(err)
			}
			if !st.Promoted(ctx, "deploy v2", c2, "v2") {
				t.Fatalf("v2 did not converge:\n%s", f.Logs())
			}
			admin, err := router.NewClient(f.RouterAdmin, "")
			if err != nil {
				t.Fatal(err)
			}
			split, err := admin.Split(ctx, "web")
			if err != nil || len(split.Backends) != 2 {
				t.Fatalf("split %+v, %v", split, err)
			}
			for i := range split.Backends {
				split.Backends[i].Weight = 50 // by hand, behind Durable's back
			}
			if err := admin.SetSplit(ctx, split); err != nil {
				t.Fatal(err)
			}
			switch mode {
			case "repair":
				e2etest.WaitFor(ctx, t, "the split to be restored", func() bool {
					s, err := admin.Split(ctx, "web")
					w := weightsOf(s.Backends)
					return err == nil && (w == "0,100" || w == "100,0")
				})
			case "report":
				e2etest.WaitFor(ctx, t, "the drift to be journaled", func() bool {
					es, err := f.API.Journal(ctx, 0, 1000)
					if err != nil {
						return false
					}
					for _, e := range es {
						if e.Kind == api.EntryEvent && strings.HasPrefix(e.Message, "drift: the traffic split differs") {
							return true
						}
					}
					return false
				})
				time.Sleep(3 * time.Second) // a few idle passes
				if s, err := admin.Split(ctx, "web"); err != nil || weightsOf(s.Backends) != "50,50" {
					t.Fatalf("report mode changed the split: %+v, %v", s, err)
				}
			}
		})
	}
}

// weightsOf lists the backends' weights, in the split's order.
func weightsOf(bs []adapters.Backend) string {
	var out []string
	for _, b := range bs {
		out = append(out, strconv.Itoa(b.Weight))
	}
	return strings.Join(out, ",")
}

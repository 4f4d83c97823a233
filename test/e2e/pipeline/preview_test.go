package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/router"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// versionAt asks the router for host and returns the version that answered.
func versionAt(t *testing.T, url, host string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("X-App-Version")
}

// TestBlueGreenPreviewThenSwitch rolls v2 out blue/green with a preview:
// once healthy, v2 alone answers on host web-preview while v1 keeps all of
// the service's traffic; the gate holds the switch until an approval
// commit; then the switch happens and the preview route goes away.
func TestBlueGreenPreviewThenSwitch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	strategy := fmt.Sprintf("package %s\n\nservices: web: strategy: {kind: \"blueGreen\", preview: true}\n", f.Repo.Pkg())
	b, err := os.ReadFile(filepath.Join(f.Repo.Dir, "service.cue"))
	if err != nil {
		t.Fatal(err)
	}
	// The example canaries; this repository switches blue/green instead.
	cut := strings.Index(string(b), "\t// A canary")
	if cut < 0 {
		t.Fatalf("examples/quickstart/service.cue no longer has the canary this test removes:\n%s", b)
	}
	service := string(b[:cut]) + "}\n"
	for name, text := range map[string]string{"service.cue": service, "strategy.cue": strategy} {
		if err := os.WriteFile(filepath.Join(f.Repo.Dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f.WritePolicy("approval.rego", `package durable.gate

hold contains "the preview waits for an approval" if {
	input.step.kind == "promote"
	not input.release.rollback
	input.release.from != ""
	not approved
}

approved if {
	some a in input.approvals
	a.stage == input.stage.name
}
`)
	st, _ := f.ServeV1(ctx, "Deploy web v1")

	f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2 with a preview")
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	admin, err := router.NewClient(f.RouterAdmin, "")
	if err != nil {
		t.Fatal(err)
	}
	e2etest.WaitFor(ctx, t, "the preview route", func() bool {
		_, err := admin.Split(ctx, "web-preview")
		return err == nil
	})
	if v := versionAt(t, f.Router, "web-preview.localhost"); v != "v2" {
		t.Fatalf("web-preview answered %q, want v2", v)
	}
	if v := versionAt(t, f.Router, "web.localhost"); v != "v1" {
		t.Fatalf("web answered %q while v2 is only previewed, want v1", v)
	}
	var held api.PlacementStatus
	e2etest.WaitFor(ctx, t, "the gate to hold the switch", func() bool {
		s, err := f.API.Status(ctx)
		if err != nil {
			return false
		}
		held = s.Services[0].Placements[0]
		return held.Rollout != nil && held.Rollout.Verdict != nil && held.Rollout.Verdict.Result == "hold"
	})
	approval := f.Approve(ctx, t, held.Rollout.Release, "local")
	f.Converge(ctx, st, "v2 switched after its preview", approval, "v2")
	e2etest.WaitFor(ctx, t, "the preview route to go", func() bool {
		_, err := admin.Split(ctx, "web-preview")
		return errors.Is(err, adapters.ErrNotFound)
	})
	st.AssertNoFailedRequests(t)
}

package e2etest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/internal/harness"
)

// startRouter runs one more `durable router` for the test and returns its
// proxy URL and admin address.
func startRouter(ctx context.Context, t *testing.T, dir, name string) (string, string) {
	t.Helper()
	rt, listen, admin, err := harness.StartRouter(ctx, name, Bin, filepath.Join(dir, name+".log"), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Stop(5 * time.Second) })
	return "http://" + listen + "/", admin
}

// BehindRouters lays out targets (name and zone) each behind its own router,
// the first behind the fixture's, with the given pipeline stages (CUE), and
// returns the routers' URLs in the targets' order.
func (f *Fixture) BehindRouters(ctx context.Context, t *testing.T, stages string, targets ...[2]string) []string {
	t.Helper()
	urls, text := []string{f.Router}, "package "+f.Repo.Pkg()+"\n\n"
	for i, tg := range targets {
		admin := f.RouterAdmin
		if i > 0 {
			var url string
			url, admin = startRouter(ctx, t, f.Dir, "router-"+tg[0])
			urls = append(urls, url)
		}
		f.Host.Routers[tg[0]] = admin
		text += fmt.Sprintf("targets: %q: {zone: %q, runtime: kind: \"process\", traffic: {kind: \"router\", admin: %q}}\n", tg[0], tg[1], tg[0])
	}
	text += "pipeline: stages: " + stages + "\n"
	if err := os.WriteFile(filepath.Join(f.Repo.Dir, "targets.cue"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return urls
}

// SetStages rewrites the pipeline that BehindRouters laid out.
func (f *Fixture) SetStages(t *testing.T, stages string) {
	t.Helper()
	file := filepath.Join(f.Repo.Dir, "targets.cue")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text, n := string(b), strings.Count(string(b), "pipeline: stages: ")
	if n != 1 {
		t.Fatalf("targets.cue names the pipeline %d times", n)
	}
	head, _, _ := strings.Cut(text, "pipeline: stages: ")
	if err := os.WriteFile(file, []byte(head+"pipeline: stages: "+stages+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

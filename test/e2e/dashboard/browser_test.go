package dashboard

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// page is one tab of a headless Chromium on the dashboard.
type page struct {
	t   *testing.T
	ctx context.Context
	dir string // where screenshots go
	n   int
}

// openBrowser starts Debian's chromium headless (without its sandbox,
// which needs a user namespace a container or root lacks) for the test.
func openBrowser(ctx context.Context, t *testing.T) *page {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (hack/install-deps.sh installs it): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.Headless,
		chromedp.DisableGPU, chromedp.WindowSize(1400, 1600))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	// The first run starts the browser for as long as its context lives:
	// it must not be one with a timeout.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	dir := os.Getenv("DURABLE_E2E_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), fmt.Sprintf("durable-dashboard-e2e-%d", time.Now().Unix()))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots of the dashboard are written to %s", dir)
	return &page{t: t, ctx: bctx, dir: dir}
}

// run runs browser actions, failing the test with what was being done.
func (p *page) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.shot("failed-" + what)
		p.t.Fatalf("browser: %s: %v", what, err)
	}
}

// shot writes a full-page screenshot named after the step.
func (p *page) shot(name string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	p.n++
	file := filepath.Join(p.dir, fmt.Sprintf("%02d-%s.png", p.n, name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		p.t.Errorf("screenshot %s: %v", name, err)
	}
	p.t.Logf("screenshot %s", file)
}

// eval evaluates a JavaScript expression (awaiting a promise) in the page.
func eval[T any](p *page, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// location is the page's URL.
func (p *page) location() string {
	p.t.Helper()
	loc, err := chromedp.Run(p.ctx, chromedp.Location())
	if err != nil {
		p.t.Fatal(err)
	}
	return loc
}

// waitJS waits until expr is true in the page, polling it; the wait is
// bounded by ctx.
func (p *page) waitJS(ctx context.Context, what, expr string) {
	p.t.Helper()
	for {
		if ok, err := eval[bool](p, expr); err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			p.shot("timeout")
			p.t.Fatalf("browser: %s: not within the test's time", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

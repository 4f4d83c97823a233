package access

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/router"
	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

var (
	routerListening = regexp.MustCompile(`router listening on (\S+), admin API on (\S+)`)
	routerMetrics   = regexp.MustCompile(`router metrics on (\S+)`)
)

// hijack is the split of issue 13's attack: web's traffic to port 9.
const hijack = `{"service":"web","backends":[{"set":"evil","weight":100,"endpoints":["127.0.0.1:9"]}]}`

// startRouter runs `durable router` with args until the end of the test and
// returns what its log line names: the traffic and admin addresses.
func startRouter(t *testing.T, ctx context.Context, dir string, args ...string) (*harness.Child, []string) {
	t.Helper()
	log := filepath.Join(dir, "router.log")
	c, err := harness.StartChild("router", e2etest.Bin, log, append([]string{"router", "--listen", "127.0.0.1:0"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(5 * time.Second) })
	addrs, err := c.WaitListening(ctx, routerListening)
	if err != nil {
		t.Fatal(err)
	}
	return c, addrs
}

// Issue 13, item 4: a PUT of a split by another local user reached the
// router's admin API and sent production traffic to 127.0.0.1:9. By
// default the admin API is a Unix socket of mode 0660: the neighbour cannot
// connect, and the split is unchanged.
func TestANeighbourCannotChangeTheTrafficOnTheSocket(t *testing.T) {
	nobody := asNobody(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := sharedDir(t)
	_, addrs := startRouter(t, ctx, dir, "--admin", "unix://"+filepath.Join(dir, "admin.sock"))
	admin := addrs[1]
	fi, err := os.Stat(strings.TrimPrefix(admin, "unix://"))
	if err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("admin socket %s: mode %v, %v; want 0660", admin, fi.Mode(), err)
	}
	if got := nobody.call(t, "PUT", admin, "/v1/splits/web", hijack, ""); got != "refused 13" {
		t.Fatalf("nobody's PUT on the admin socket: %q, want refused 13 (EACCES)", got)
	}
	c, err := router.NewClient(admin, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Split(ctx, "web"); !errors.Is(err, adapters.ErrNotFound) {
		t.Fatalf("web's split after the attack: %v; want none", err)
	}
	// The operator (root here) may, and only to endpoints allowed.
	err = c.SetSplit(ctx, adapters.Split{Service: "web", Backends: []adapters.Backend{{Set: "a", Weight: 100, Endpoints: []string{"192.0.2.7:80"}}}})
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "--allow-endpoints") {
		t.Fatalf("split to an endpoint not allowed: %v; want 403 naming --allow-endpoints", err)
	}
}

// A TCP admin API needs a token: without one the router does not start;
// with one, a neighbour without it gets 401, with a read token 403, and a
// split naming an endpoint the operator did not allow is 403 too.
func TestTheTCPAdminAPINeedsAToken(t *testing.T) {
	nobody := asNobody(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := sharedDir(t)
	out, err := exec.CommandContext(ctx, e2etest.Bin, "router", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--token-file") {
		t.Fatalf("TCP admin without a token: %v\n%s", err, out)
	}
	readTok, err := harness.WriteTokenFile(filepath.Join(dir, "read-tokens"), "read")
	if err != nil {
		t.Fatal(err)
	}
	writeFile := filepath.Join(dir, "admin-tokens")
	writeTok, err := harness.WriteTokenFile(writeFile, "write")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(writeFile, []byte("read "+readTok+"\nwrite "+writeTok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, addrs := startRouter(t, ctx, dir, "--admin", "127.0.0.1:0", "--token-file", writeFile, "--allow-endpoints", "127.0.0.0/8,192.0.2.1:8000-8099")
	admin := addrs[1]
	for _, tc := range []struct{ name, token, want string }{
		{"no token", "", `401 Bearer realm="router admin API"`},
		{"a wrong token", strings.Repeat("x", 64), `401 Bearer realm="router admin API", error="invalid_token"`},
		{"a read token", readTok, `403`},
	} {
		if got := nobody.call(t, "PUT", admin, "/v1/splits/web", hijack, tc.token); !strings.HasPrefix(got, tc.want) {
			t.Errorf("PUT with %s: %q, want %s", tc.name, got, tc.want)
		}
	}
	if got := nobody.call(t, "GET", admin, "/v1/splits", "", ""); !strings.HasPrefix(got, "401") {
		t.Errorf("GET of the splits without a token: %q, want 401", got)
	}
	if got := nobody.call(t, "PUT", admin, "/v1/splits/web", strings.Replace(hijack, "127.0.0.1:9", "192.0.2.1:9000", 1), writeTok); !strings.HasPrefix(got, "403") || !strings.Contains(got, "--allow-endpoints") {
		t.Errorf("PUT to an endpoint not allowed: %q, want 403 naming --allow-endpoints", got)
	}
	if got := nobody.call(t, "PUT", admin, "/v1/splits/web", strings.Replace(hijack, "127.0.0.1:9", "192.0.2.1:8080", 1), writeTok); !strings.HasPrefix(got, "200") {
		t.Errorf("PUT with the write token to an allowed endpoint: %q, want 200", got)
	}
}

// The metrics have their own listener, which Prometheus scrapes without
// admin rights; it serves nothing else.
func TestMetricsAreScrapedWithoutAdminRights(t *testing.T) {
	nobody := asNobody(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := sharedDir(t)
	c, _ := startRouter(t, ctx, dir, "--admin", "unix://"+filepath.Join(dir, "admin.sock"), "--metrics-listen", "127.0.0.1:0")
	m, err := c.WaitListening(ctx, routerMetrics)
	if err != nil {
		t.Fatal(err)
	}
	if got := nobody.call(t, "GET", m[0], "/v1/metrics", "", ""); !strings.HasPrefix(got, "200 ") {
		t.Fatalf("nobody's scrape: %q, want 200", got)
	}
	// A set's series appear with its first request: a router that routes
	// nothing yet exposes the Go runtime's (the first 500 bytes are shown).
	if got := nobody.call(t, "GET", m[0], "/metrics", "", ""); !strings.HasPrefix(got, "200 ") || !strings.Contains(got, "go_gc_duration_seconds") {
		t.Fatalf("nobody's Prometheus scrape: %q, want 200 with the Go runtime's metrics", got)
	}
	if got := nobody.call(t, "PUT", m[0], "/v1/splits/web", hijack, ""); strings.HasPrefix(got, "2") {
		t.Fatalf("a PUT on the metrics listener: %q, want no success", got)
	}
}

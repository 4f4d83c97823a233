package writeback

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/release")

const newDigest = "@sha256:1111111111111111111111111111111111111111111111111111111111111111"

// Release on each example repository edits exactly one line of one file,
// the one that writes the service's artifact, and keeps every other byte:
// the golden files hold the edited line, before and after.
func TestReleaseEditsOnePlaceOfEachExample(t *testing.T) {
	for _, c := range []struct{ example, service, repo string }{
		{"quickstart", "web", "127.0.0.1:5000/quickstart/web"},
		{"docker-haproxy", "web", "127.0.0.1:5000/quickstart/web"},
		{"fleet", "web", "10.77.0.1:5000/quickstart/web"},
		{"multi-zone", "web", "registry.example/shop/web"},
		{"multi-zone", "db-proxy", "registry.example/shop/db-proxy"},
		{"multi-zone", "worker", "registry.example/shop/worker"},
	} {
		t.Run(c.example+"/"+c.service, func(t *testing.T) {
			tree := os.DirFS(filepath.Join("..", "examples", c.example))
			edits, old, err := Release(context.Background(), load, tree, c.service, c.repo+newDigest)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(old, c.repo+"@sha256:") {
				t.Errorf("old artifact %q", old)
			}
			got := describeEdits(t, tree, edits)
			golden := filepath.Join("testdata", "release", c.example+"-"+c.service+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test ./writeback -run TestReleaseEditsOnePlace -update writes it)", err)
			}
			if got != string(want) {
				t.Fatalf("edits:\n%s\nwant (%s):\n%s", got, golden, want)
			}
		})
	}
}

// describeEdits checks that the edits change one line of one file and
// writes that line before and after.
func describeEdits(t *testing.T, tree fs.FS, edits map[string][]byte) string {
	t.Helper()
	if len(edits) != 1 {
		t.Fatalf("%d files edited: %v", len(edits), slices.Sorted(maps.Keys(edits)))
	}
	var b strings.Builder
	for name, data := range edits {
		before, err := fs.ReadFile(tree, name)
		if err != nil {
			t.Fatal(err)
		}
		was, now := bytes.Split(before, []byte("\n")), bytes.Split(data, []byte("\n"))
		if len(was) != len(now) {
			t.Fatalf("%s: %d lines became %d", name, len(was), len(now))
		}
		changed := 0
		for i := range was {
			if !bytes.Equal(was[i], now[i]) {
				changed++
				fmt.Fprintf(&b, "%s:%d\n- %s\n+ %s\n", name, i+1, was[i], now[i])
			}
		}
		if changed != 1 {
			t.Fatalf("%s: %d lines changed, want 1:\n%s", name, changed, b.String())
		}
	}
	return b.String()
}

// A service whose artifact a template, a comprehension or an expression
// gives is refused with the positions; so is an unknown service, the
// artifact it already runs, and an edit after which the tree does not load.
func TestReleaseRefuses(t *testing.T) {
	base, err := fs.ReadFile(os.DirFS("../examples/quickstart"), "service.cue")
	if err != nil {
		t.Fatal(err)
	}
	targets, err := fs.ReadFile(os.DirFS("../examples/quickstart"), "targets.cue")
	if err != nil {
		t.Fatal(err)
	}
	const repo = "127.0.0.1:5000/quickstart/web"
	cases := []struct{ name, release, service, artifact, want string }{
		{"template", "package quickstart\nservices: [string]: artifact: \"" + repo + "@sha256:" + strings.Repeat("0", 64) + "\"\n",
			"web", repo + newDigest, "release.cue:2:21 (template)"},
		{"comprehension", "package quickstart\nfor n in [\"web\"] { services: (n): artifact: \"" + repo + "@sha256:" + strings.Repeat("0", 64) + "\" }\n",
			"web", repo + newDigest, "release.cue:2:35 (comprehension)"},
		{"expression", "package quickstart\n_digest: \"" + strings.Repeat("0", 64) + "\"\nservices: web: artifact: \"" + repo + "@sha256:\\(_digest)\"\n",
			"web", repo + newDigest, "release.cue:3:16 (expression)"},
		{"unknown service", "package quickstart\nservices: web: artifact: \"" + repo + "@sha256:" + strings.Repeat("0", 64) + "\"\n",
			"api", repo + newDigest, `no service "api" (it declares web)`},
		{"same artifact", "package quickstart\nservices: web: artifact: \"" + repo + "@sha256:" + strings.Repeat("0", 64) + "\"\n",
			"web", repo + "@sha256:" + strings.Repeat("0", 64), "nothing to release"},
		{"does not load", "package quickstart\nservices: web: artifact: \"" + repo + "@sha256:" + strings.Repeat("0", 64) + "\"\n",
			"web", repo + ":latest", "does not load"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tree := fstest.MapFS{"service.cue": {Data: base}, "targets.cue": {Data: targets}, "release.cue": {Data: []byte(c.release)}}
			_, _, err := Release(context.Background(), load, tree, c.service, c.artifact)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error with %q", err, c.want)
			}
		})
	}
}

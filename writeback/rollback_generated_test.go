package writeback

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/durable-delivery/durable/schema"
)

// genService is one generated declaration of a service's fields.
type genService struct {
	digit    string
	args     []string
	env      map[string]string
	replicas int
	keepWarm int
	hold     bool
}

func randomService(r *rand.Rand) genService {
	s := genService{digit: string("0123456789abcdef"[r.IntN(16)]), replicas: 1 + r.IntN(4), keepWarm: r.IntN(3), hold: r.IntN(2) == 0, env: map[string]string{}}
	for range r.IntN(3) {
		s.args = append(s.args, []string{"-v", "--port=8080", "it's \"quoted\"", "naïve: yes # no comment"}[r.IntN(4)])
	}
	for _, k := range []string{"A", "B_2", "GREETING"} {
		if r.IntN(2) == 0 {
			s.env[k] = []string{"1", "hello world", "x: y", "#not a comment", ""}[r.IntN(5)]
		}
	}
	return s
}

// cue writes s in one of three CUE styles: braced, one line per field
// (shorthand), or a mix; optional fields at their default are sometimes
// left out.
func (s genService) cue(r *rand.Rand, name string) string {
	lines := []string{fmt.Sprintf("artifact: %s", artifact(s.digit))}
	if len(s.args) > 0 || r.IntN(2) == 0 {
		lines = append(lines, fmt.Sprintf("run: args: %s", render(s.args)))
	}
	keys := sortedKeys(s.env)
	for _, k := range keys {
		lines = append(lines, fmt.Sprintf("run: env: %s: %q", k, s.env[k]))
	}
	if s.replicas != 2 || r.IntN(2) == 0 {
		lines = append(lines, fmt.Sprintf("run: replicas: %d", s.replicas))
	}
	if s.keepWarm != 1 || r.IntN(2) == 0 {
		lines = append(lines, fmt.Sprintf("strategy: keepWarm: %d", s.keepWarm))
	}
	if s.hold || r.IntN(2) == 0 {
		lines = append(lines, fmt.Sprintf("hold: %t", s.hold))
	}
	var b strings.Builder
	if r.IntN(2) == 0 {
		fmt.Fprintf(&b, "services: %s: {\n", name)
		for _, l := range lines {
			fmt.Fprintf(&b, "\t%s\n", l)
		}
		b.WriteString("}\n")
		return b.String()
	}
	for _, l := range lines {
		fmt.Fprintf(&b, "services: %s: %s\n", name, l)
	}
	return b.String()
}

// yaml writes s as a block YAML file.
func (s genService) yaml(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "services:\n  %s:\n    artifact: %s\n    run:\n", name, artifact(s.digit))
	if len(s.args) > 0 {
		b.WriteString("      args:\n")
		for _, a := range s.args {
			fmt.Fprintf(&b, "      - %q\n", a)
		}
	}
	if len(s.env) > 0 {
		b.WriteString("      env:\n")
		for _, k := range sortedKeys(s.env) {
			fmt.Fprintf(&b, "        %s: %q\n", k, s.env[k])
		}
	}
	fmt.Fprintf(&b, "      replicas: %d\n    strategy:\n      keepWarm: %d\n    hold: %t\n", s.replicas, s.keepWarm, s.hold)
	return b.String()
}

func render(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// genTree writes web and api into files of a style the generator picks:
// both in one CUE file, each in its own, or web in YAML.
func genTree(r *rand.Rand, style int, web, api genService) fstest.MapFS {
	out := fstest.MapFS{"common.cue": {Data: []byte(common)}}
	cue := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte("package t\n\n" + s)} }
	switch style {
	case 0:
		out["services.cue"] = cue(web.cue(r, "web") + api.cue(r, "api"))
	case 1:
		out["web.cue"], out["api.cue"] = cue(web.cue(r, "web")), cue(api.cue(r, "api"))
	default:
		out["web.yaml"] = &fstest.MapFile{Data: []byte(web.yaml("web"))}
		out["api.cue"] = cue(api.cue(r, "api"))
	}
	return out
}

// Generated pairs of revisions, in every style the generator writes: the
// rollback's edits give exactly the earlier declaration of web, leave api
// as the head has it, and change nothing when web is the same.
func TestRollbackOnGeneratedRevisions(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 17))
	ctx := context.Background()
	n := 300
	if testing.Short() {
		n = 60
	}
	rolled := 0
	for i := range n {
		style := i % 3
		oldWeb, headWeb, oldAPI, headAPI := randomService(r), randomService(r), randomService(r), randomService(r)
		old, head := genTree(r, style, oldWeb, oldAPI), genTree(r, style, headWeb, headAPI)
		oldDS, err := schema.Load(old)
		if err != nil {
			t.Fatalf("case %d: the generated earlier revision does not load: %v", i, err)
		}
		headDS, err := schema.Load(head)
		if err != nil {
			t.Fatalf("case %d: the generated head does not load: %v", i, err)
		}
		edits, ds, err := Rollback(ctx, load, head, old, "web")
		if sameService(oldDS.Services["web"], headDS.Services["web"]) {
			if err == nil || !strings.Contains(err.Error(), "nothing to roll back") {
				t.Fatalf("case %d: same declaration: %v", i, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("case %d (style %d): %v\nhead:\n%s", i, style, err, dump(head))
		}
		if !sameService(ds.Services["web"], oldDS.Services["web"]) || !sameOthers(ds, headDS, "web") {
			t.Fatalf("case %d: the edited tree does not declare web as old and the rest as head", i)
		}
		for p := range edits {
			if strings.HasPrefix(p, "api") || p == "common.cue" {
				t.Fatalf("case %d: %s was edited", i, p)
			}
		}
		rolled++
	}
	if rolled < n/2 {
		t.Fatalf("only %d of %d cases rolled back: the generator makes too few differences", rolled, n)
	}
}

func dump(files fstest.MapFS) string {
	var b strings.Builder
	for _, p := range sortedKeys(map[string]string{"common.cue": "", "services.cue": "", "web.cue": "", "api.cue": "", "web.yaml": ""}) {
		if f, ok := files[p]; ok {
			fmt.Fprintf(&b, "--- %s\n%s", p, f.Data)
		}
	}
	return b.String()
}

package queue

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/fieldedit"
	"github.com/durable-delivery/durable/internal/gittest"
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/source"
)

// genFields are the fields a generated case sets: each service's artifact
// version (adjacent lines of release.cue) and its GREETING (service.cue).
type genFields struct {
	version map[int]int
	greet   map[int]string
}

const genServices = 4

// greetingAlphabet holds what a greeting is made of, hostile characters
// among them: quotes, backslashes, line breaks, tabs, non-ASCII.
var greetingAlphabet = []string{"a", "b", " ", `"`, `\`, "\n", "\t", "é", "日", "🙂", "${x}", "#"}

func (f genFields) files() map[string]string {
	var b strings.Builder
	b.WriteString("package quickstart\n\n")
	for i := range genServices {
		fmt.Fprintf(&b, "services: svc%d: {\n\trun: replicas: 2\n\trun: env: GREETING: %s\n\thealth: path: \"/healthz\"\n}\n",
			i, strconv.QuoteToASCII(f.greet[i]))
	}
	return map[string]string{"release.cue": releaseFile(genServices, f.version), "service.cue": b.String()}
}

// with is f with the changes of c made.
func (f genFields) with(c genFields) genFields {
	out := genFields{version: map[int]int{}, greet: map[int]string{}}
	for _, m := range []genFields{f, c} {
		for k, v := range m.version {
			out.version[k] = v
		}
		for k, v := range m.greet {
			out.greet[k] = v
		}
	}
	return out
}

func randomGreeting(rng *rand.Rand) string {
	var b strings.Builder
	for range 1 + rng.IntN(6) {
		b.WriteString(greetingAlphabet[rng.IntN(len(greetingAlphabet))])
	}
	return b.String()
}

// randomChanges changes a few fields of a few services; from is the
// other side's changes, some of which it makes again, the same or not.
func randomChanges(rng *rand.Rand, from genFields) genFields {
	c := genFields{version: map[int]int{}, greet: map[int]string{}}
	for range 1 + rng.IntN(3) {
		i := rng.IntN(genServices)
		switch rng.IntN(6) {
		case 0, 1, 2: // adjacent lines: Git's merge conflicts often
			c.version[i] = 1 + rng.IntN(3)
		case 3:
			c.greet[i] = randomGreeting(rng)
		case 4: // the other side's change again, to the same value
			for k, v := range from.version {
				c.version[k] = v
			}
		default:
			if v, ok := from.greet[i]; ok {
				c.greet[i] = v + "!"
			}
		}
	}
	return c
}

// clash names a field both sides set to different values, if any.
func clash(ours, theirs genFields) string {
	for k, v := range theirs.version {
		if w, ok := ours.version[k]; ok && w != v {
			return fmt.Sprintf("services.svc%d.artifact", k)
		}
	}
	for k, v := range theirs.greet {
		if w, ok := ours.greet[k]; ok && w != v {
			return fmt.Sprintf("services.svc%d.run.env.GREETING", k)
		}
	}
	return ""
}

// Generated merges, with hostile values: the merge of two sides (Git's,
// or by field path where Git conflicts) either ejects naming a field both
// sides set differently — exactly when there is one — or gives a tree
// that loads as the tree a person writes with both sides' changes.
func TestGeneratedMergesAgreeWithWritingBothChanges(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	r := newDesiredRepo(t, genServices)
	run := newRunner(t, desiredRepo{bare: r.work}, Config{})
	commit := func(from string, f genFields, msg string) string {
		gittest.Run(t, r.work, "checkout", "-q", "-B", "gen", from)
		writeFiles(t, r.work, f.files())
		gittest.Run(t, r.work, "add", "-A")
		gittest.Run(t, r.work, "commit", "-q", "--allow-empty", "-m", msg)
		return gittest.Run(t, r.work, "rev-parse", "HEAD")
	}
	methods, ejected := map[string]int{}, 0
	for i := range 20 {
		base := genFields{version: map[int]int{}, greet: map[int]string{}}
		for s := range genServices {
			base.greet[s] = randomGreeting(rng)
		}
		baseCommit := commit("main", base, "base")
		ours := randomChanges(rng, genFields{})
		theirs := randomChanges(rng, ours)
		oursCommit := commit(baseCommit, base.with(ours), "ours")
		theirsCommit := commit(baseCommit, base.with(theirs), "theirs")
		c, v, err := run.comp.compose(t.Context(), oursCommit, Proposal{Branch: "queue/gen", Head: theirsCommit})
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if field := clash(ours, theirs); field != "" {
			if v.Reason != ReasonConflict || !strings.Contains(strings.Join(v.Reasons, "\n"), "field "+field) {
				t.Fatalf("case %d: %s set two ways, yet %s %q", i, field, c.method, v.Reasons)
			}
			ejected++
			continue
		}
		if v.failed() {
			t.Fatalf("case %d (ours %v, theirs %v): ejected %s %q", i, ours, theirs, v.Reason, v.Reasons)
		}
		want := loadShape(t, r.work, commit(baseCommit, base.with(ours).with(theirs), "by hand"))
		if got := loadShape(t, r.work, c.commit); !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d (%s): the merge differs from both changes written by hand: %v", i, c.method, fieldedit.Diff(nil, want, got))
		}
		methods[c.method]++
	}
	t.Logf("merged %v, %d ejected", methods, ejected)
}

func loadShape(t *testing.T, dir, commit string) any {
	t.Helper()
	snap, err := source.ReadLocal(dir, commit)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := schema.Load(snap.Files)
	if err != nil {
		t.Fatalf("commit %s does not load: %v", commit, err)
	}
	s, err := fieldedit.Shape(ds)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

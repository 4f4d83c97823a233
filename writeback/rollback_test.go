package writeback

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
)

func load(_ context.Context, files fs.FS) (*schema.DesiredState, error) { return schema.Load(files) }

const common = `package t

targets: local: {
	zone: "local"
	runtime: kind: "process"
	traffic: {kind: "router", admin: "edge"}
}
pipeline: stages: [{name: "local", targets: ["local"]}]
services: [N=_]: {
	health: path: "/healthz"
	strategy: kind: "blueGreen"
}
`

func artifact(digit string) string {
	return `"127.0.0.1:5000/app@sha256:` + strings.Repeat(digit, 64) + `"`
}

func tree(files map[string]string) fstest.MapFS {
	out := fstest.MapFS{"common.cue": {Data: []byte(common)}}
	for p, s := range files {
		out[p] = &fstest.MapFile{Data: []byte("package t\n\n" + s + "\n")}
	}
	return out
}

// A rollback restores the file that declares the service and nothing else,
// though another service changed since too.
func TestRollbackRestoresOnlyTheService(t *testing.T) {
	ctx := context.Background()
	old := tree(map[string]string{"web.cue": "services: web: artifact: " + artifact("1"), "api.cue": "services: api: artifact: " + artifact("a")})
	head := tree(map[string]string{"web.cue": "services: web: artifact: " + artifact("2"), "api.cue": "services: api: artifact: " + artifact("b"),
		"notes.cue": "// a note"})
	edits, evaluated, err := Rollback(ctx, load, head, old, "web")
	if err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if len(edits) != 1 || !strings.Contains(string(edits["web.cue"]), strings.Repeat("1", 64)) {
		t.Fatalf("edits %q: want web.cue as it was, alone", keys(edits))
	}
	after := fstest.MapFS{}
	for p, f := range head {
		after[p] = f
	}
	after["web.cue"] = &fstest.MapFile{Data: edits["web.cue"]}
	ds, err := schema.Load(after)
	if err != nil {
		t.Fatal(err)
	}
	oldDS, _ := schema.Load(old)
	headDS, _ := schema.Load(head)
	if ds.Services["web"].ReleaseID() != oldDS.Services["web"].ReleaseID() || ds.Services["api"].ReleaseID() != headDS.Services["api"].ReleaseID() {
		t.Fatal("after the rollback, web must be old's and api head's")
	}
	if !sameJSON(ds, evaluated) {
		t.Fatal("the desired state Rollback returns is not the edited tree's")
	}

	if _, _, err := Rollback(ctx, load, old, old, "web"); err == nil || !strings.Contains(err.Error(), "nothing to roll back") {
		t.Errorf("rollback to the same declaration: %v", err)
	}
	if _, _, err := Rollback(ctx, load, head, old, "nope"); err == nil || !strings.Contains(err.Error(), "declares no service nope") {
		t.Errorf("rollback of an unknown service: %v", err)
	}
	broken := tree(map[string]string{"web.cue": "services: web: artifact: 3"})
	if _, _, err := Rollback(ctx, load, broken, old, "web"); err == nil || !strings.Contains(err.Error(), "load the head") {
		t.Errorf("rollback on a head that does not load: %v", err)
	}
}

// When the service shares its file with another change, only the
// service's lines change: the other service's change stays, and so do the
// comments and the layout.
func TestRollbackEditsOnlyTheServiceInASharedFile(t *testing.T) {
	old := tree(map[string]string{"releases.cue": "services: web: artifact: " + artifact("1") + "\nservices: api: artifact: " + artifact("a")})
	headSrc := "// releases, one line each\nservices: web: artifact: " + artifact("2") + " // v2\nservices: api: artifact: " + artifact("b") +
		"\nservices: web: run: {\n\targs: [\"-v\"]\n\tenv: NEW: \"yes\"\n}"
	head := tree(map[string]string{"releases.cue": headSrc})
	edits, ds, err := Rollback(context.Background(), load, head, old, "web")
	if err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	want := "package t\n\n// releases, one line each\nservices: web: artifact: " + artifact("1") + " // v2\nservices: api: artifact: " + artifact("b") +
		"\nservices: web: run: {\n\targs: []\n}\n"
	if got := string(edits["releases.cue"]); got != want {
		t.Fatalf("releases.cue:\n%s\nwant\n%s", got, want)
	}
	oldDS, _ := schema.Load(old)
	if ds.Services["web"].ReleaseID() != oldDS.Services["web"].ReleaseID() {
		t.Error("web is not declared as the earlier revision declared it")
	}
}

// A service declared in YAML is edited in its YAML file.
func TestRollbackEditsYAML(t *testing.T) {
	old := tree(map[string]string{"web.cue": "services: web: run: env: A: \"1\""})
	old["web.yaml"] = &fstest.MapFile{Data: []byte("services:\n  web:\n    artifact: " + artifact("1") + "\n")}
	head := tree(map[string]string{"web.cue": "services: web: run: env: A: \"2\""})
	head["web.yaml"] = &fstest.MapFile{Data: []byte("services:\n  web:\n    artifact: " + artifact("2") + "\n    hold: true # while we look\n")}
	edits, _, err := Rollback(context.Background(), load, head, old, "web")
	if err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if got, want := string(edits["web.yaml"]), "services:\n  web:\n    artifact: "+artifact("1")+"\n    hold: false # while we look\n"; got != want {
		t.Errorf("web.yaml:\n%s\nwant\n%s", got, want)
	}
	if got := string(edits["web.cue"]); !strings.Contains(got, `A: "1"`) {
		t.Errorf("web.cue:\n%s\nwant A set back to 1", got)
	}
}

// A field the head writes as an expression is not rewritten: the refusal
// names its place.
func TestRollbackRefusesAnExpression(t *testing.T) {
	old := tree(map[string]string{"web.cue": "services: web: artifact: " + artifact("1")})
	head := tree(map[string]string{"web.cue": "_release: " + artifact("2") + "\nservices: web: artifact: _release"})
	_, _, err := Rollback(context.Background(), load, head, old, "web")
	if err == nil || !strings.Contains(err.Error(), "web.cue:4:26: the value is an expression") {
		t.Fatalf("Rollback over an expression: %v, want a refusal naming web.cue:4:26", err)
	}
}

func TestFindRevision(t *testing.T) {
	revs := []journal.Revision{
		{Commit: "c3", Verdict: api.RevisionRejected, Releases: map[string]string{"web": "r1"}},
		{Commit: "c2", Verdict: api.RevisionAccepted, Releases: map[string]string{"web": "r2"}},
		{Commit: "c1", Verdict: api.RevisionAccepted, Releases: map[string]string{"web": "r1"}},
	}
	if r, err := FindRevision(revs, "web", "r1"); err != nil || r.Commit != "c1" {
		t.Errorf("FindRevision(r1) = %s, %v: want c1 (c3 was rejected)", r.Commit, err)
	}
	if _, err := FindRevision(revs, "web", "r9"); err == nil {
		t.Error("FindRevision of an unknown release: no error")
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

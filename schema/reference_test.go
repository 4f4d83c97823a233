package schema

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cuelang.org/go/cue/parser"
)

// docsFile is the generated reference, committed beside the other docs.
var docsFile = filepath.Join("..", "docs", "schema.md")

// docs/schema.md must be what the schema generates now: a change to
// durable.cue regenerates it in the same commit.
func TestReferenceIsCurrent(t *testing.T) {
	want, err := Reference()
	if err != nil {
		t.Fatalf("Reference: %v", err)
	}
	got, err := os.ReadFile(docsFile)
	if err != nil {
		t.Fatalf("read %s: %v; generate it with: %s", docsFile, err, ReferenceCommand)
	}
	if bytes.Equal(got, want) {
		return
	}
	gotLines, wantLines := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	line := 0
	for line < min(len(gotLines), len(wantLines)) && gotLines[line] == wantLines[line] {
		line++
	}
	at := func(lines []string) string {
		if line < len(lines) {
			return lines[line]
		}
		return "(end of file)"
	}
	t.Fatalf("docs/schema.md is stale: the schema no longer generates it. Regenerate it, from the repository root, with:\n\t%s\nfirst difference, line %d:\n\tdocs/schema.md: %.200s\n\tgenerated:      %.200s",
		ReferenceCommand, line+1, at(gotLines), at(wantLines))
}

// Every field durable.cue declares has a row in the reference: a field the
// walk cannot reach (a kind it does not fill in, say) would otherwise be
// missing from the documentation without anyone noticing.
func TestReferenceCoversEveryField(t *testing.T) {
	md, err := Reference()
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(schemaFile, schemaSource, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	for key := range indexDecls(f).fields {
		path := key[strings.Index(key, " ")+1:]
		label := path[strings.LastIndex(path, ".")+1:]
		if label == "*" {
			continue
		}
		if !bytes.Contains(md, []byte("| `"+label+"` |")) {
			t.Errorf("no row for %s (declared in %s)", label, key)
		}
	}
}

// referenceFixture exercises each shape the reference renders.
const referenceFixture = `// The fixture schema.
package fixture

// #Name is a name.
#Name: =~"^[a-z]+$"

#DesiredState: {
	apps: {[Name=string]: #App & {name: Name}} @durable(fix="declare apps")
	limits: {[=~"^[A-Z]+$"]: #Limit}
	items: [#Item, ...#Item]
}

// #App is one app.
#App: {
	name: #Name
	// size is <big> or small.
	size: *"small" | "big" @durable(invalid="is not a size", fix="write small | big")
	port: int & >=1 | *80
	tags?: [...string]
	labels: {[string]: string}
	nested: {
		deep: bool | *false
	}
	engine: #Engine
	store: #Store
}

#Engine: {
	kind: "a" | "b"
	if kind == "b" {
		// extra is b's.
		extra: string
	}
}

#Store: {
	kind: "mem" | "disk"
	if kind == "disk" {#Disk}
}

// #Disk is a store on disk.
#Disk: {
	// path is where.
	path: string
}

#Limit: {
	#Bound
	max: int
}

// #Bound is embedded in #Limit.
#Bound: {
	// min is the lower bound.
	min: int | *0
}

#Item: {id: int}
`

func TestReferenceRendersEachShape(t *testing.T) {
	md, err := renderReference("fixture.cue", []byte(referenceFixture))
	if err != nil {
		t.Fatalf("renderReference: %v", err)
	}
	for _, want := range []string{
		"The fixture schema.\n",
		"### Top level: `#DesiredState`\n",
		"| `apps` | [`map`](#apps-name) | `{}` | *If rejected:* declare apps |\n",
		"| `limits` | [`map`](#limits-name) | `{}` |  |\n",
		"| `items` | [`[#Item, ...#Item]`](#items) | **required** |  |\n",
		"<a id=\"apps-name\"></a>\n\n### `apps.<name>`\n\n#App is one app.\n",
		"| `name` | [`#Name`](#name) | the entry's name |  |\n",
		"| `size` | `\"small\" \\| \"big\"` | `\"small\"` | size is &lt;big&gt; or small.<br>*If rejected:* write small \\| big |\n",
		"| `port` | `int & >=1` | `80` |  |\n",
		"| `tags` | `[...string]` | optional |  |\n",
		"| `labels` | `{[string]: string}` | `{}` |  |\n",
		"| `nested` | [`struct`](#apps-name-nested) | — |  |\n",
		"### `apps.<name>.nested`\n\n| Field | Type | Default | Description |\n| --- | --- | --- | --- |\n| `deep` | `bool` | `false` |  |\n",
		"| `engine` | [`#Engine`](#apps-name-engine) | **required** |  |\n",
		"| `kind` | `\"a\" \\| \"b\"` | **required** |  |\n\nWith `kind: \"a\"`: no other field.\n\nWith `kind: \"b\"`, also:\n\n| Field | Type | Default | Description |\n| --- | --- | --- | --- |\n| `extra` | `string` | **required** | extra is b's. |\n",
		"With `kind: \"mem\"`: no other field.\n\nWith `kind: \"disk\"`, also:\n\n#Disk is a store on disk.\n\n| Field | Type | Default | Description |\n| --- | --- | --- | --- |\n| `path` | `string` | **required** | path is where. |\n",
		"### `limits.<name>`\n\n#Bound is embedded in #Limit.\n\n| Field | Type | Default | Description |\n| --- | --- | --- | --- |\n| `max` | `int` | **required** |  |\n| `min` | `int` | `0` | min is the lower bound. |\n",
		"### `items[]`\n\n| Field | Type | Default | Description |\n| --- | --- | --- | --- |\n| `id` | `int` | **required** |  |\n",
		"## Named types\n\n<a id=\"name\"></a>\n\n### `#Name`\n\n#Name is a name.\n\n```cue\n#Name: =~\"^[a-z]+$\"\n```\n",
	} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("the reference lacks\n%s", want)
		}
	}
	if t.Failed() {
		t.Logf("reference:\n%s", md[bytes.Index(md, []byte("## Fields")):])
	}
}

func TestMarkdownEscapes(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a | b", `a \| b`},
		{"<name>-preview", "&lt;name&gt;-preview"},
		{"web-preview.*", `web-preview.\*`},
		{"DB_PASSWORD", `DB\_PASSWORD`},
	} {
		if got := escape(c.in); got != c.want {
			t.Errorf("escape(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := code("a|b"); got != "`a\\|b`" {
		t.Errorf("code(a|b) = %q", got)
	}
	if got := code("x`y"); got != "``x`y``" {
		t.Errorf("code(x`y) = %q", got)
	}
}

package sops

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/durable-delivery/durable/secrets/sops/sopstest"
)

// The differential test's corpus: trees made by a seeded generator, the
// same at every run, written as YAML, JSON and dotenv files, each with one
// of the ways SOPS chooses what to encrypt.

// corpusSeed fixes the corpus. Changing it changes every tree: do it only
// to widen the corpus, and keep the test passing for the old seed too.
const corpusSeed = 20261206

// corpusCase is one plaintext file and how to encrypt it.
type corpusCase struct {
	name string
	file string
	text string
	opts sopstest.Options
}

// ruleChoices are the ways of choosing what is encrypted; the generator's
// keys and comments are made to hit each.
var ruleChoices = []struct {
	name string
	opts sopstest.Options
}{
	{"default", sopstest.Options{}},
	{"unencrypted_suffix", sopstest.Options{UnencryptedSuffix: "_plain"}},
	{"encrypted_suffix", sopstest.Options{EncryptedSuffix: "_enc"}},
	{"unencrypted_regex", sopstest.Options{UnencryptedRegex: "^(pub|clé)"}},
	{"encrypted_regex", sopstest.Options{EncryptedRegex: "^(secret|pw|ключ)"}},
	{"unencrypted_comment_regex", sopstest.Options{UnencryptedCommentRegex: "sops:clear"}},
	{"encrypted_comment_regex", sopstest.Options{EncryptedCommentRegex: "sops:enc"}},
	{"mac_only_encrypted", sopstest.Options{UnencryptedSuffix: "_unencrypted", MACOnlyEncrypted: true}},
	{"mac_only_encrypted_regex", sopstest.Options{EncryptedRegex: "^secret", MACOnlyEncrypted: true}},
}

// Pools the generator draws from: keys that hit every rule above, unicode,
// and values of every type, empty strings included.
var (
	corpusKeys = []string{"db", "password", "token", "pub_host", "secret_key", "pw", "name_plain", "note_enc",
		"mode_unencrypted", "clé", "ключ", "鍵", "user name", "port", "a-b", "Ünïcødé", "x"}
	corpusStrings = []string{"", "hunter2", "tok-9f8e7d", "héllo wörld", "日本語のテキスト", "🔑 key", "a: b", "- not a list",
		"line one\nline two", "  padded  ", "ENC[not really]", "#hash", "true", "12", "null"}
	corpusComments = []string{"# a note", "# sops:enc", "# sops:clear", "# ünïcode comment", "#", "# key: value"}
)

// corpusGen builds trees from a seeded source.
type corpusGen struct {
	r *rand.Rand
}

// node is a generated value: a map (keys and vals), a list (vals), or a
// scalar. comments are written before it, in YAML.
type node struct {
	keys     []string
	vals     []*node
	isMap    bool
	isList   bool
	scalar   any
	comments []string
}

func (g *corpusGen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *corpusGen) maybeComments() []string {
	var out []string
	for g.r.IntN(4) == 0 {
		out = append(out, g.pick(corpusComments))
	}
	return out
}

// scalar is a value of a type the format has: JSON has numbers, booleans
// and null; YAML timestamps too.
func (g *corpusGen) scalar(yamlFile bool) any {
	switch g.r.IntN(10) {
	case 0:
		return []int{0, 5432, -17, 1 << 40}[g.r.IntN(4)]
	case 1:
		return []float64{0.25, -1.5, 3e-7, 1234.5678}[g.r.IntN(4)]
	case 2:
		return g.r.IntN(2) == 0
	case 3:
		return nil
	case 4:
		if yamlFile {
			return time.Date(2024, 1, 2, 3, 4, 5, 600000000, time.UTC)
		}
	}
	return g.pick(corpusStrings)
}

// value is a random value at depth: maps, lists, lists of maps, scalars.
func (g *corpusGen) value(depth int, yamlFile bool) *node {
	n := &node{comments: g.maybeComments()}
	switch k := g.r.IntN(6); {
	case depth < 3 && k == 0:
		n.isMap = true
		n.keys, n.vals = g.members(depth+1, yamlFile)
	case depth < 3 && k == 1:
		n.isList = true
		for range g.r.IntN(4) {
			v := g.value(depth+1, yamlFile)
			if g.r.IntN(3) == 0 {
				v = &node{isMap: true, comments: v.comments}
				v.keys, v.vals = g.members(depth+1, yamlFile)
			}
			n.vals = append(n.vals, v)
		}
	default:
		n.scalar = g.scalar(yamlFile)
	}
	return n
}

// members are a map's keys and values, each key once.
func (g *corpusGen) members(depth int, yamlFile bool) ([]string, []*node) {
	var keys []string
	var vals []*node
	seen := map[string]bool{}
	for range 1 + g.r.IntN(5) {
		k := g.pick(corpusKeys)
		if seen[k] {
			continue
		}
		seen[k] = true
		keys = append(keys, k)
		vals = append(vals, g.value(depth, yamlFile))
	}
	return keys, vals
}

// corpus is every case: for each rule, trees in each format, and
// multi-document YAML files.
func corpus() []corpusCase {
	g := &corpusGen{r: rand.New(rand.NewPCG(corpusSeed, corpusSeed))}
	var cases []corpusCase
	for _, rule := range ruleChoices {
		for i := range 4 {
			name := fmt.Sprintf("%s/%d", rule.name, i)
			keys, vals := g.members(0, true)
			cases = append(cases, corpusCase{name + ".yaml", "c.yaml", yamlText(keys, vals), rule.opts})
			docs := yamlText(keys, vals)
			for range 1 + g.r.IntN(2) {
				k, v := g.members(0, true)
				docs += "---\n" + yamlText(k, v)
			}
			cases = append(cases, corpusCase{name + ".multi.yaml", "c.yml", docs, rule.opts})
			keys, vals = g.members(0, false)
			cases = append(cases, corpusCase{name + ".json", "c.json", jsonText(keys, vals), rule.opts})
			cases = append(cases, corpusCase{name + ".env", "c.env", g.dotenvText(), rule.opts})
		}
	}
	return cases
}

// yamlText writes a mapping as YAML with its comments, through yaml.v3's
// encoder as sops writes YAML.
func yamlText(keys []string, vals []*node) string {
	root := &yaml.Node{Kind: yaml.MappingNode}
	appendYAMLMembers(root, keys, vals)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		panic(err)
	}
	return b.String()
}

func appendYAMLMembers(m *yaml.Node, keys []string, vals []*node) {
	for i, k := range keys {
		kn := &yaml.Node{}
		if err := kn.Encode(k); err != nil {
			panic(err)
		}
		kn.HeadComment = strings.Join(vals[i].comments, "\n")
		m.Content = append(m.Content, kn, yamlNode(vals[i]))
	}
}

func yamlNode(n *node) *yaml.Node {
	switch {
	case n.isMap:
		m := &yaml.Node{Kind: yaml.MappingNode}
		appendYAMLMembers(m, n.keys, n.vals)
		return m
	case n.isList:
		l := &yaml.Node{Kind: yaml.SequenceNode}
		for _, v := range n.vals {
			vn := yamlNode(v)
			if !v.isMap && len(v.comments) > 0 {
				vn.HeadComment = strings.Join(v.comments, "\n")
			}
			l.Content = append(l.Content, vn)
		}
		return l
	}
	s := &yaml.Node{}
	if err := s.Encode(n.scalar); err != nil {
		panic(err)
	}
	if len(n.comments) > 0 {
		s.LineComment = n.comments[0]
	}
	return s
}

// jsonText writes a mapping as JSON, keys in order.
func jsonText(keys []string, vals []*node) string {
	var b strings.Builder
	writeJSONMembers(&b, keys, vals)
	return b.String()
}

func writeJSONMembers(b *strings.Builder, keys []string, vals []*node) {
	b.WriteString("{")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		kj, _ := json.Marshal(k)
		b.Write(kj)
		b.WriteString(": ")
		writeJSON(b, vals[i])
	}
	b.WriteString("}")
}

func writeJSON(b *strings.Builder, n *node) {
	switch {
	case n.isMap:
		writeJSONMembers(b, n.keys, n.vals)
	case n.isList:
		b.WriteString("[")
		for i, v := range n.vals {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSON(b, v)
		}
		b.WriteString("]")
	default:
		v, err := json.Marshal(n.scalar)
		if err != nil {
			panic(err)
		}
		b.Write(v)
	}
}

// dotenvText is a dotenv file: variables with string values (escaped
// newlines, "=" in values, unicode), comments between them.
func (g *corpusGen) dotenvText() string {
	var b strings.Builder
	seen := map[string]bool{}
	for range 1 + g.r.IntN(6) {
		for _, c := range g.maybeComments() {
			b.WriteString(c + "\n")
		}
		k := strings.ReplaceAll(g.pick(corpusKeys), " ", "_")
		if seen[k] {
			continue
		}
		seen[k] = true
		v := strings.ReplaceAll(g.pick(corpusStrings), "\n", `\n`)
		if g.r.IntN(5) == 0 {
			v += "=x"
		}
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	return b.String()
}

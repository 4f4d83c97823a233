package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// EntryPoint names one of the three questions the reconciler asks.
type EntryPoint string

// The entry points, each a Rego package.
const (
	Admission EntryPoint = "admission"
	Gate      EntryPoint = "gate"
	Invariant EntryPoint = "invariant"
)

// EntryPoints lists every entry point.
var EntryPoints = []EntryPoint{Admission, Gate, Invariant}

// Package is the Rego package that answers the entry point.
func (e EntryPoint) Package() string { return "durable." + string(e) }

// required is the rule each entry point's package must define.
func (e EntryPoint) required() string {
	if e == Gate {
		return "allow"
	}
	return "deny"
}

// ParseEntryPoint reads an entry point's name.
func ParseEntryPoint(s string) (EntryPoint, error) {
	for _, e := range EntryPoints {
		if string(e) == s {
			return e, nil
		}
	}
	return "", fmt.Errorf("unknown entry point %q: use admission, gate or invariant", s)
}

// Results of a decision.
const (
	Allow = "allow"
	Deny  = "deny"
	Hold  = "hold"
)

// DefaultTimeout bounds one decision when Options does not.
const DefaultTimeout = 250 * time.Millisecond

// Options tune an Engine.
type Options struct {
	// Timeout bounds the evaluation of one decision in each source.
	Timeout time.Duration
}

// Engine answers the entry points from compiled sources. It is safe for
// concurrent use and is built once per revision.
type Engine struct {
	timeout time.Duration
	sources []*compiled
	values  valueCache
}

type compiled struct {
	src Source
	// queries holds, per entry point it defines, one prepared query per
	// rule it defines (deny, hold, allow): asking for the rules alone
	// evaluates only what they depend on, not every helper of the package.
	queries map[EntryPoint]map[string]rego.PreparedEvalQuery
	// together asks all of an entry point's rules in one evaluation,
	// where it defines several (see evalTogether).
	together map[EntryPoint]rego.PreparedEvalQuery
}

// rules are the rules an entry point's package may define, in the order
// they are asked: a deny decides without the others.
var rules = map[EntryPoint][]string{Admission: {"deny"}, Gate: {"deny", "hold", "allow"}, Invariant: {"deny"}}

// Decision is one evaluation of an entry point, as journaled.
type Decision struct {
	Entry  EntryPoint `json:"entry"`
	Result string     `json:"result"`
	// Reasons explain a deny or a hold; each is prefixed by its source when
	// several sources are asked.
	Reasons []string `json:"reasons,omitempty"`
	// Policy names the sources that answered, with their revisions
	// ("repository@3f2a…, host@sha256:…"); empty when none defines the
	// entry point and the reconciler's built-in rules apply.
	Policy      string        `json:"policy,omitempty"`
	InputDigest string        `json:"inputDigest"`
	Duration    time.Duration `json:"duration"`
}

// Defined reports whether a policy answered (rather than no source defining
// the entry point).
func (d Decision) Defined() bool { return d.Policy != "" }

// Compile parses and compiles each source in the sandbox and prepares one
// query per entry point it defines. An empty source is skipped. Errors are
// positioned (file:line:col) and name the fix.
func Compile(ctx context.Context, opts Options, sources ...Source) (*Engine, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	e := &Engine{timeout: opts.Timeout}
	var all Errors
	for _, src := range sources {
		if src.Empty() {
			continue
		}
		c, errs := compileSource(ctx, src)
		if len(errs) > 0 {
			all = append(all, errs...)
			continue
		}
		e.sources = append(e.sources, c)
	}
	if len(all) > 0 {
		return nil, all
	}
	return e, nil
}

// Sources lists the label of each compiled source.
func (e *Engine) Sources() []string {
	out := make([]string, len(e.sources))
	for i, c := range e.sources {
		out[i] = c.src.label()
	}
	return out
}

func compileSource(ctx context.Context, src Source) (*compiled, Errors) {
	modules, errs := parse(src.Modules)
	if len(errs) > 0 {
		return nil, errs
	}
	compiler, errs := compile(modules)
	if len(errs) > 0 {
		return nil, errs
	}
	c := &compiled{src: src, queries: map[EntryPoint]map[string]rego.PreparedEvalQuery{}, together: map[EntryPoint]rego.PreparedEvalQuery{}}
	for _, entry := range EntryPoints {
		pkg := packageOf(modules, entry)
		if pkg == nil {
			continue
		}
		if !defines(compiler, entry) {
			loc := pkg.Location
			return nil, Errors{{File: loc.File, Line: loc.Row, Col: loc.Col,
				Message: fmt.Sprintf("package %s defines no %s rule, so it would deny everything; %s", entry.Package(), entry.required(), ruleAdvice(entry))}}
		}
		c.queries[entry] = map[string]rego.PreparedEvalQuery{}
		for _, rule := range rules[entry] {
			ref := "data." + entry.Package() + "." + rule
			if len(compiler.GetRules(ast.MustParseRef(ref))) == 0 {
				continue
			}
			q, err := rego.New(
				rego.Query(ref),
				rego.Compiler(compiler),
				rego.StrictBuiltinErrors(true),
			).PrepareForEval(ctx)
			if err != nil {
				return nil, fromAST(src.Name, err)
			}
			c.queries[entry][rule] = q
		}
		if len(c.queries[entry]) > 1 {
			q, err := prepareTogether(ctx, compiler, entry, c.queries[entry])
			if err != nil {
				return nil, fromAST(src.Name, err)
			}
			c.together[entry] = q
		}
	}
	return c, nil
}

func ruleAdvice(e EntryPoint) string {
	if e == Gate {
		return "write `default allow := false` and `allow if { ... }` (deny and hold sets are optional)"
	}
	return "write `deny contains msg if { ... }`"
}

// parse parses Rego v1 modules, reporting every file's errors.
func parse(files map[string]string) (map[string]*ast.Module, Errors) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	modules := make(map[string]*ast.Module, len(files))
	var errs Errors
	for _, name := range names {
		m, err := ast.ParseModuleWithOpts(name, files[name], ast.ParserOptions{RegoVersion: ast.RegoV1, Capabilities: sandbox()})
		if err != nil {
			errs = append(errs, fromAST(name, err)...)
			continue
		}
		modules[name] = m
	}
	return modules, errs
}

// newCompiler is the sandboxed compiler every policy and test goes through.
func newCompiler() *ast.Compiler {
	return ast.NewCompiler().WithCapabilities(sandbox()).WithEnablePrintStatements(false)
}

func compile(modules map[string]*ast.Module) (*ast.Compiler, Errors) {
	c := newCompiler()
	if c.Compile(modules); c.Failed() {
		return nil, fromAST("", c.Errors)
	}
	return c, nil
}

func packageOf(modules map[string]*ast.Module, e EntryPoint) *ast.Package {
	want := ast.MustParseRef("data." + e.Package())
	names := make([]string, 0, len(modules))
	for n := range modules {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if modules[n].Package.Path.Equal(want) {
			return modules[n].Package
		}
	}
	return nil
}

func defines(c *ast.Compiler, e EntryPoint) bool {
	return len(c.GetRules(ast.MustParseRef("data."+e.Package()+"."+e.required()))) > 0
}

// Decide evaluates entry with input in every source that defines it. Every
// source must allow; any deny wins, then any hold. A source that errors or
// times out denies with the reason. The input is encoded once (encode.go):
// its digest and the value the policies see come from the same text,
// encoding/json's, and the parts of it met in earlier decisions are not
// built again.
func (e *Engine) Decide(ctx context.Context, entry EntryPoint, input any) Decision {
	start := time.Now()
	d := Decision{Entry: entry, Result: Allow}
	if !e.Defines(entry) {
		// Nothing asks: the input is neither encoded nor converted (at
		// 10,000 services an admission's old and new states are 20 MB of
		// JSON and hundreds of MB of terms). A built-in rule that decides
		// in the policy's place digests the input itself (InputDigest).
		d.Duration = time.Since(start)
		return d
	}
	in, err := encodeInput(input, &e.values)
	if err != nil {
		return d.fail(start, fmt.Errorf("encode input: %w", err).Error())
	}
	d.InputDigest = in.digest

	var labels []string
	var denies, holds []string
	for _, c := range e.sources {
		if _, ok := c.queries[entry]; !ok {
			continue
		}
		labels = append(labels, c.src.label())
		prefix := ""
		if len(e.sources) > 1 {
			prefix = c.src.Name + ": "
		}
		result, reasons := e.ask(ctx, entry, c, in.value)
		for _, r := range reasons {
			r = prefix + r
			if result == Hold {
				holds = append(holds, r)
			} else {
				denies = append(denies, r)
			}
		}
	}
	d.Policy = strings.Join(labels, ", ")
	switch {
	case len(denies) > 0:
		d.Result, d.Reasons = Deny, denies
	case len(holds) > 0:
		d.Result, d.Reasons = Hold, holds
	}
	d.Duration = time.Since(start)
	return d
}

// InputDigest is the digest a decision records of its input: the sha256 of
// its JSON encoding. A decision takes it from the same text as its input's
// value (encodeInput), which writes what encoding/json writes.
func InputDigest(input any) (string, error) {
	raw, err := json.Marshal(input)
	if err != nil {
		return "", fmt.Errorf("encode input: %w", err)
	}
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

func (d Decision) fail(start time.Time, reason string) Decision {
	d.Result, d.Reasons, d.Duration = Deny, []string{reason}, time.Since(start)
	return d
}

// messages reads a rule holding a set of reasons. A boolean true counts as
// one reason named after the rule, so `hold if { ... }` works too.
func messages(doc map[string]any, rule string) ([]string, error) {
	v, ok := doc[rule]
	if !ok {
		return nil, nil
	}
	switch t := v.(type) {
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			} else {
				b, _ := json.Marshal(x)
				out = append(out, string(b))
			}
		}
		sort.Strings(out)
		return out, nil
	case bool:
		if t {
			return []string{rule}, nil
		}
		return nil, nil
	}
	return nil, fmt.Errorf("%s is %s, not a set of messages", rule, describe(v))
}

func describe(v any) string {
	if v == nil {
		return "undefined"
	}
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		b = append(b[:77], "..."...)
	}
	return string(b)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Defines reports whether any source defines the entry point; a nil
// engine defines none.
func (e *Engine) Defines(entry EntryPoint) bool {
	if e == nil {
		return false
	}
	for _, c := range e.sources {
		if _, ok := c.queries[entry]; ok {
			return true
		}
	}
	return false
}

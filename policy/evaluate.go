package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// ask asks one source and reads its answer: deny, then hold, then allow.
// Reasons come back sorted, so that the same input always journals the
// same decision. The timeout bounds the whole answer.
func (e *Engine) ask(ctx context.Context, entry EntryPoint, c *compiled, input ast.Value) (string, []string) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	if result, reasons := evalTogether(ctx, entry, c, input); result != "" {
		return result, reasons
	}
	return e.eval(ctx, entry, c.queries[entry], input)
}

// prepareTogether prepares one query binding each of the entry point's
// rules, as an array of its value (empty when the rule is undefined, which
// would otherwise make the whole query undefined).
func prepareTogether(ctx context.Context, compiler *ast.Compiler, entry EntryPoint, queries map[string]rego.PreparedEvalQuery) (rego.PreparedEvalQuery, error) {
	var exprs []string
	for _, rule := range rules[entry] {
		if _, ok := queries[rule]; ok {
			exprs = append(exprs, fmt.Sprintf("%s := [x | x := data.%s.%s]", rule, entry.Package(), rule))
		}
	}
	return rego.New(
		rego.Query(strings.Join(exprs, "; ")),
		rego.Compiler(compiler),
		rego.StrictBuiltinErrors(true),
	).PrepareForEval(ctx)
}

// evalTogether asks every rule of the entry point in one evaluation and
// judges them in eval's order. It gives no result ("") when the source has
// no such query or the evaluation failed: eval then asks rule by rule, as
// a rule after the one that decides may fail where eval never asks it,
// and the decision must be eval's.
func evalTogether(ctx context.Context, entry EntryPoint, c *compiled, input ast.Value) (string, []string) {
	q, ok := c.together[entry]
	if !ok {
		return "", nil
	}
	rs, err := q.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil || len(rs) != 1 {
		return "", nil
	}
	values := map[string]any{}
	for _, rule := range rules[entry] {
		got, _ := rs[0].Bindings[rule].([]any)
		if len(got) == 0 {
			continue // not defined by the source, or undefined: judged below
		}
		values[rule] = got[0]
		if result, reasons, done := judgeRule(entry, values, rule); done {
			return result, reasons
		}
	}
	return judgeEnd(entry, values)
}

// eval asks the entry point's rules one by one, until one decides.
func (e *Engine) eval(ctx context.Context, entry EntryPoint, queries map[string]rego.PreparedEvalQuery, input ast.Value) (string, []string) {
	values := map[string]any{}
	for _, rule := range rules[entry] {
		q, ok := queries[rule]
		if !ok {
			continue
		}
		rs, err := q.Eval(ctx, rego.EvalParsedInput(input))
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return Deny, []string{fmt.Sprintf("%s did not decide within %s (timed out); denied", entry.Package(), e.timeout)}
		case err != nil:
			return Deny, []string{fmt.Sprintf("%s failed: %s; denied", entry.Package(), oneLine(err.Error()))}
		case len(rs) == 0 || len(rs[0].Expressions) == 0:
			continue // undefined: judged below
		}
		values[rule] = rs[0].Expressions[0].Value
		if result, reasons, done := judgeRule(entry, values, rule); done {
			return result, reasons
		}
	}
	return judgeEnd(entry, values)
}

// judgeRule reads a deny or hold rule just asked: a non-empty one decides.
func judgeRule(entry EntryPoint, values map[string]any, rule string) (string, []string, bool) {
	if rule == "allow" {
		return "", nil, false
	}
	reasons, err := messages(values, rule)
	if err != nil {
		return Deny, []string{fmt.Sprintf("%s.%v; denied", entry.Package(), err)}, true
	}
	if len(reasons) == 0 {
		return "", nil, false
	}
	if rule == "hold" {
		return Hold, reasons, true
	}
	return Deny, reasons, true
}

// judgeEnd decides once no deny or hold did: admission and invariant
// allow when deny is defined, the gate when allow is true.
func judgeEnd(entry EntryPoint, values map[string]any) (string, []string) {
	if entry != Gate {
		if _, ok := values["deny"]; !ok {
			return Deny, []string{fmt.Sprintf("%s.deny is undefined; denied", entry.Package())}
		}
		return Allow, nil
	}
	if allow, _ := values["allow"].(bool); !allow {
		return Deny, []string{fmt.Sprintf("%s did not allow (allow is %s); denied", entry.Package(), describe(values["allow"]))}
	}
	return Allow, nil
}
